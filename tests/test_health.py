"""The worker's health (issue #12): its heartbeat in the store, the reason of a failing
mailbox in the cycle's line once, systemd's notify socket, and the alerts of
`guichet doctor --alert` through the outbox and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guichet.cli import main
from guichet.commands.doctor import alert
from ingest.health import (
    CYCLES,
    AlertSettings,
    Outage,
    heartbeats,
    log_reason,
    outages,
    record_cycle,
)
from ingest.mailbox import programme_mailboxes
from ingest.poll import CycleReport, MailboxReport
from ingest.scheduler import Worker
from ingest.watchdog import notify
from tests.conftest import Accounts
from tests.servers import SmtpRelay, guichet_smtp_env
from tests.stores import BLOSSOM
from triage.models import OutboxMail, WorkerHealth
from triage.store import Store

T0 = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
SETTINGS = AlertSettings(worker_after=20 * MINUTE, mailbox_after=3 * HOUR)


def report(**errors: str | None) -> CycleReport:
    return CycleReport(
        mailboxes=[
            MailboxReport(box, f"{box}@coopcity.be", error=err) for box, err in errors.items()
        ]
    )


def row(subject: str, **values: object) -> WorkerHealth:
    return WorkerHealth(programme_id="blossom-2026", subject=subject, worker="w", **values)


# --- heartbeat --------------------------------------------------------------------------


def test_the_heartbeat_is_one_row_per_cycle_kind_and_mailbox_updated_in_place(
    store: Store,
) -> None:
    sqlite_store = store  # and PostgreSQL
    refused = "boîte « programme » (matthias@coopcity.be) : connexion refusée"
    for n in range(5):
        with sqlite_store.sessions.begin() as session:
            since = record_cycle(
                session, "blossom-2026", report(info=None, programme=refused), T0 + n * MINUTE, "w1"
            )
        assert since == {"programme": T0}  # the first failure, kept from cycle to cycle
    with sqlite_store.sessions.begin() as session:
        record_cycle(
            session, "blossom-2026", report(info=None, programme=None), T0 + 9 * MINUTE, "w1"
        )
    with sqlite_store.sessions() as session:
        rows = {r.subject: r for r in heartbeats(session, "blossom-2026")}
        assert session.scalar(select(func.count()).select_from(WorkerHealth)) == 3
    assert set(rows) == {CYCLES, "info", "programme"}
    assert rows[CYCLES].last_success_at == T0 + 9 * MINUTE
    assert rows["programme"].failing_since is None and rows["programme"].last_error is None
    assert rows["programme"].last_success_at == T0 + 9 * MINUTE


def test_a_reason_for_the_log_names_no_address() -> None:
    assert log_reason("boîte « info » (info@coopcity.be) : identifiant ou mot de passe refusé") == (
        "identifiant ou mot de passe refusé"
    )
    assert log_reason("boîte « info » : refusé pour info@coopcity.be") == "refusé pour (adresse)"


# --- outages (pure) -----------------------------------------------------------------------


def test_no_heartbeat_no_alert() -> None:
    assert outages([], ["info"], T0, SETTINGS) == []


def test_cycles_stopped_for_n_minutes_is_one_outage_and_hides_the_stale_mailboxes() -> None:
    rows = [
        row(CYCLES, last_cycle_at=T0, last_success_at=T0),
        row("info", last_cycle_at=T0, failing_since=T0 - 5 * HOUR, last_error="x"),
    ]
    assert outages(rows, ["info"], T0 + 19 * MINUTE, SETTINGS) == [
        Outage("info", T0 - 5 * HOUR, "x")
    ]
    assert outages(rows, ["info"], T0 + 20 * MINUTE, SETTINGS) == [
        Outage(CYCLES, T0, "aucun relevé réussi")
    ]


def test_a_mailbox_failing_for_n_hours_then_recovered() -> None:
    failing = row(
        "info",
        last_cycle_at=T0,
        failing_since=T0 - 3 * HOUR,
        last_error="boîte « info » (a@b.be) : refusé",
    )
    cycles = row(CYCLES, last_cycle_at=T0, last_success_at=T0)
    assert outages([cycles, failing], ["info"], T0, SETTINGS) == [
        Outage("info", T0 - 3 * HOUR, "refusé")
    ]
    young = row("info", last_cycle_at=T0, failing_since=T0 - HOUR, last_error="x")
    assert outages([cycles, young], ["info"], T0, SETTINGS) == []
    over = row("info", last_cycle_at=T0, alerted_for=T0 - 3 * HOUR)
    assert outages([cycles, over], ["info"], T0, SETTINGS) == [
        Outage("info", T0 - 3 * HOUR, "de nouveau accessible", ongoing=False)
    ]


def test_alert_settings_from_the_environment() -> None:
    from guichet.errors import ConfigError

    assert AlertSettings.from_env({}) == SETTINGS
    assert (
        AlertSettings.from_env({"GUICHET_ALERT_WORKER_MINUTES": "7,5"}).worker_after == 7.5 * MINUTE
    )
    with pytest.raises(ConfigError, match="GUICHET_ALERT_MAILBOX_HOURS : « -1 »"):
        AlertSettings.from_env({"GUICHET_ALERT_MAILBOX_HOURS": "-1"})


# --- the worker's log and systemd ---------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    """A unix datagram socket standing for systemd's, named by NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield server
    server.close()


def received(server: socket.socket) -> list[bytes]:
    found = []
    server.setblocking(False)
    try:
        while True:
            found.append(server.recv(4096))
    except BlockingIOError:
        pass
    finally:
        server.settimeout(5)
    return found


def test_notify_writes_to_the_socket_systemd_gives(notify_socket: socket.socket) -> None:
    assert notify("READY=1")
    assert notify_socket.recv(4096) == b"READY=1"


def test_notify_in_the_abstract_namespace() -> None:
    name = f"guichet-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert server.recv(4096) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent(tmp_path: Path) -> None:
    assert not notify("WATCHDOG=1", {})
    assert not notify("WATCHDOG=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})


def test_a_cycle_tells_the_watchdog_and_logs_a_reason_once_then_the_recovery(
    sqlite_store: Store, accounts: Accounts, checker, notify_socket: socket.socket,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = [T0]
    wrong = {**accounts.env, "GUICHET_IMAP_PROGRAMME_PASSWORD": "pas-le-bon"}
    worker = Worker(
        sqlite_store, BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, wrong), lambda: clock[0]
    )
    worker.checker = checker
    with caplog.at_level(logging.INFO, "guichet"):
        worker.final_pass()
        [ping] = received(notify_socket)
        watchdog_line, status_line = ping.decode().split("\n")
        assert watchdog_line == "WATCHDOG=1"
        assert status_line.startswith("STATUS=relevé final : 0 nouveau courriel, 0 vérifié ; ")
        clock[0] = T0 + 5 * MINUTE
        worker.final_pass()
        worker.mailboxes = programme_mailboxes(BLOSSOM.mailboxes, accounts.env)
        clock[0] = T0 + 10 * MINUTE
        worker.final_pass()
    first, second, third, recovered = caplog.messages
    assert "programme en erreur : identifiant ou mot de passe refusé ;" in first
    assert "programme toujours en erreur depuis 08:00 UTC ;" in second
    assert "mot de passe" not in second  # not repeated every cycle
    assert "boîtes : info ok, programme ok" in third
    assert recovered == "boîte « programme » rétablie"
    assert all("@" not in line and "pas-le-bon" not in line for line in caplog.messages)
    assert [p.split(b"\n")[0] for p in received(notify_socket)] == [b"WATCHDOG=1"] * 2


# --- guichet doctor --alert ----------------------------------------------------------------


def alert_env(store: Store, relay: SmtpRelay) -> dict[str, str]:
    return {
        "GUICHET_DATA_DIR": str(store.settings.data_dir),
        "GUICHET_DATABASE_URL": store.settings.database_url,
        **guichet_smtp_env(relay),
    }


def beat(store: Store, now: dt.datetime, **errors: str | None) -> None:
    with store.sessions.begin() as session:
        record_cycle(session, "blossom-2026", report(**errors), now, "w1")


def to_coordinator(relay: SmtpRelay, since: int) -> list[EmailMessage]:
    return [
        email.message_from_bytes(data, policy=email.policy.default)
        for _, recipients, data in relay.received[since:]
        if recipients == ["matthias@coopcity.be"]
    ]


def test_a_stopped_worker_is_told_once_and_its_return_once(
    sqlite_store: Store, smtp_relay: SmtpRelay
) -> None:
    env = alert_env(sqlite_store, smtp_relay)
    before = len(smtp_relay.received)
    beat(sqlite_store, T0, info=None, programme=None)
    lines: list[str] = []
    assert alert(env, "blossom-2026", T0 + 10 * MINUTE, lines.append) == 0  # not yet
    assert to_coordinator(smtp_relay, before) == []
    assert lines == [
        "✓ service (guichet run) : dernier relevé réussi le 10/09/2026 08:00 UTC (il y a 10 min)"
    ]

    lines.clear()
    assert alert(env, "blossom-2026", T0 + 25 * MINUTE, lines.append) == 1
    assert lines[0].startswith(
        "✗ service (guichet run) : aucun relevé réussi depuis le 10/09/2026 08:00 UTC"
    )
    assert lines[1] == "✓ alerte : 1 courriel(s) préparé(s) pour les coordinateurs, 1 envoyé(s)"
    [mail] = to_coordinator(smtp_relay, before)
    assert " ".join(mail["Subject"].split()) == "Guichet BLOSSOM 2026-2027 : le relevé est arrêté"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = " ".join(mail.get_body(("plain",)).get_content().split())
    assert "aucun relevé n’a réussi depuis le jeudi 10 septembre 2026 à 10:00 (25 min)" in text

    for later in (35, 60, 180):  # the same outage: never a second mail
        assert alert(env, "blossom-2026", T0 + later * MINUTE, lambda _: None) == 1
    assert len(to_coordinator(smtp_relay, before)) == 1

    beat(sqlite_store, T0 + 200 * MINUTE, info=None, programme=None)  # the worker is back
    lines.clear()
    assert alert(env, "blossom-2026", T0 + 201 * MINUTE, lines.append) == 0
    back = to_coordinator(smtp_relay, before)[1:]
    assert len(back) == 1 and back[0]["Subject"].endswith("le relevé est rétabli")
    alert(env, "blossom-2026", T0 + 211 * MINUTE, lambda _: None)
    assert len(to_coordinator(smtp_relay, before)) == 2
    with sqlite_store.sessions() as session:
        kinds = session.scalars(select(OutboxMail.kind).order_by(OutboxMail.id)).all()
    assert kinds == ["alerte", "retabli"]


def test_a_mailbox_failing_for_hours_is_told_once(
    sqlite_store: Store, smtp_relay: SmtpRelay
) -> None:
    env = alert_env(sqlite_store, smtp_relay)
    before = len(smtp_relay.received)
    refused = "boîte « info » (info@coopcity.be) : identifiant ou mot de passe refusé"
    for minutes in range(0, 4 * 60, 30):
        beat(sqlite_store, T0 + minutes * MINUTE, info=refused, programme=None)
        alert(env, "blossom-2026", T0 + minutes * MINUTE, lambda _: None)
    [mail] = to_coordinator(smtp_relay, before)
    assert " ".join(mail["Subject"].split()) == (
        "Guichet BLOSSOM 2026-2027 : la boîte « info » (info@coopcity.be) est en erreur"
    )
    text = " ".join(mail.get_body(("plain",)).get_content().split())
    assert "identifiant ou mot de passe refusé" in text


def test_alert_without_smtp_says_nobody_can_be_told(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    beat(sqlite_store, dt.datetime.now(dt.UTC) - 2 * HOUR, info=None, programme=None)
    for name in list(os.environ):
        if name.startswith("GUICHET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GUICHET_DATA_DIR", str(sqlite_store.settings.data_dir))
    monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
    assert main(["doctor", "--alert"]) == 1
    out = capsys.readouterr().out
    assert "✗ service (guichet run) : aucun relevé réussi depuis le" in out
    assert "✗ alerte : personne ne peut être prévenu : GUICHET_SMTP_HOST n'est pas défini" in out
    with sqlite_store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 0


# --- guichet run at start ------------------------------------------------------------------


def test_run_refuses_without_a_data_folder_or_a_mailbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("GUICHET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
    assert main(["run"]) == 3
    assert capsys.readouterr().err == (
        "guichet : dossier des données non défini : définir GUICHET_DATA_DIR (le service "
        "systemd utilise /var/lib/guichet) ou passer --data DOSSIER\n"
    )
    assert main(["run", "--data", str(tmp_path / "donnees")]) == 3
    assert capsys.readouterr().err == (
        "guichet : aucune boîte configurée (boîte « info » : GUICHET_IMAP_INFO_HOST n'est pas "
        "défini ; boîte « programme » : GUICHET_IMAP_PROGRAMME_HOST n'est pas défini) : voir "
        "guichet doctor\n"
    )
    assert list(tmp_path.iterdir()) == []  # neither ./var nor the data folder created


def test_run_warns_at_start_about_a_mailbox_it_cannot_find(
    accounts: Accounts, tmp_path: Path
) -> None:
    import signal

    from tests.test_cli_run import running_worker, wait_until

    env = {
        **accounts.env,
        "GUICHET_IMAP_PROGRAMME_HOST": "imap.nulle-part.invalid",
        "GUICHET_DATA_DIR": str(tmp_path / "var"),
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_POLL_SECONDS": "0.5",
    }
    log = tmp_path / "run.log"
    with running_worker(env, log) as worker:
        wait_until(lambda: "(en erreur depuis" in log.read_text(), 60, "two cycles", log)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    text = log.read_text()
    assert (
        "boîte « programme » : DNS : nom inconnu : « imap.nulle-part.invalid » ; nouvel essai à chaque relevé"
        in text
    )
    assert text.count("programme en erreur : connexion impossible à imap.nulle-part.invalid:") == 1
    assert "@" not in text and "Traceback" not in text


def test_between_cycles_the_watchdog_hears_from_a_healthy_worker_only(
    sqlite_store: Store, notify_socket: socket.socket
) -> None:
    from ingest.scheduler import KEEPALIVE_JOB, ScheduleSettings, build_scheduler

    worker = Worker(sqlite_store, BLOSSOM, [], lambda: T0)
    worker.keepalive()  # at start: nothing failed yet
    worker.poll()
    received(notify_socket)
    worker.keepalive()
    assert received(notify_socket) == [b"WATCHDOG=1"]
    sqlite_store.engine.dispose()
    database = sqlite_store.settings.data_dir / "guichet.sqlite3"
    database.unlink()
    database.mkdir()  # the store is broken: the cycle fails
    assert worker.poll() is None
    worker.keepalive()
    assert received(notify_socket) == []  # systemd will restart it
    settings = ScheduleSettings(poll_every=60 * MINUTE)
    job = build_scheduler(worker, settings, keepalive=7 * MINUTE).get_job(KEEPALIVE_JOB)
    assert job.trigger.interval == 7 * MINUTE and job.max_instances == 1
    assert build_scheduler(worker, settings).get_job(KEEPALIVE_JOB) is None


def test_half_the_watchdog_period_for_this_process_only() -> None:
    from ingest.watchdog import keepalive_every

    assert keepalive_every({"WATCHDOG_USEC": "900000000"}) == 7.5 * MINUTE
    mine = {"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}
    assert keepalive_every(mine) == dt.timedelta(seconds=30)
    other = {"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert keepalive_every(other) is None
    assert keepalive_every({}) is None and keepalive_every({"WATCHDOG_USEC": "x"}) is None


def test_run_under_systemd_says_ready_then_each_cycle_then_stopping(
    accounts: Accounts, tmp_path: Path
) -> None:
    import signal

    from tests.test_cli_run import running_worker, wait_until

    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    env = {
        **accounts.env,
        "GUICHET_DATA_DIR": str(tmp_path / "var"),
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_POLL_SECONDS": "0.5",
        "NOTIFY_SOCKET": str(path),
        "WATCHDOG_USEC": "2000000",  # WatchdogSec=2s: a keepalive every second
    }
    log = tmp_path / "run.log"
    messages: list[str] = []

    def heard() -> bool:
        messages.extend(m.decode() for m in received(server))
        return sum(m.startswith("WATCHDOG=1\nSTATUS=relevé : ") for m in messages) >= 2

    try:
        with running_worker(env, log) as worker:
            wait_until(heard, 60, "two cycles told to systemd", log)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
    finally:
        messages.extend(m.decode() for m in received(server))
        server.close()
    assert messages[0] == "READY=1"
    assert "STOPPING=1" in messages  # (a cycle finishing may still tell its line after it)
    cycle = next(m for m in messages if m.startswith("WATCHDOG=1\nSTATUS="))
    assert "boîtes : info ok, programme ok" in cycle and "@" not in cycle
