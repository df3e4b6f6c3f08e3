"""Push (``ingest.idle``): IMAP IDLE against the suite's Dovecot asks for a polling cycle as
soon as a mail arrives; the nudged poll job, failures and the stop, without a server too.

Waits are for a state, with a generous timeout; nothing asserts how fast it went."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from config.programme import MailboxSpec, load_programme
from guichet.errors import ConfigError, MailboxError
from ingest.idle import IdleWatch, PollNudge, reason, retry_delay, watch_idle
from ingest.mailbox import ImapSession, MailboxSettings, programme_mailboxes, settings_from_env
from ingest.scheduler import POLL_JOB, ScheduleSettings, Worker, build_scheduler
from tests.conftest import Accounts
from tests.mails import brussels, build
from tests.test_cli_run import running_worker
from triage.models import Message
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")
HOUR = ScheduleSettings(dt.timedelta(hours=1))
TIMEOUT = 45.0  # Dovecot announces within a second (inotify); 30 s where it must look itself


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.05)


def idle_env(accounts: Accounts, *mailbox_ids: str) -> dict[str, str]:
    return {**accounts.env, **{f"GUICHET_IMAP_{m.upper()}_IDLE": "1" for m in mailbox_ids}}


def settings(accounts: Accounts, mailbox_id: str = "info", **env: str) -> MailboxSettings:
    spec = next(m for m in BLOSSOM.mailboxes if m.id == mailbox_id)
    prefix = f"GUICHET_IMAP_{mailbox_id.upper()}_"
    return settings_from_env(spec, {**accounts.env, **{prefix + k: v for k, v in env.items()}})


class Calls:
    """A counting ``on_new_mail``."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.count += 1


@contextlib.contextmanager
def running(watch: IdleWatch) -> Iterator[IdleWatch]:
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()
        watch.join(10)
    assert not watch.is_alive()


# --- settings -------------------------------------------------------------------------------

INFO = MailboxSpec(id="info", address="info@coopcity.be")
BASE = {"GUICHET_IMAP_INFO_HOST": "imap.example.org", "GUICHET_IMAP_INFO_PASSWORD": "pw"}


@pytest.mark.parametrize(
    ("value", "idle"), [(None, False), ("1", True), ("0", False), ("oui", True)]
)
def test_idle_is_asked_per_mailbox_and_off_by_default(value: str | None, idle: bool) -> None:
    env = BASE if value is None else {**BASE, "GUICHET_IMAP_INFO_IDLE": value}
    assert settings_from_env(INFO, env).idle is idle


def test_a_wrong_idle_value_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="GUICHET_IMAP_INFO_IDLE : 1 ou 0 attendu"):
        settings_from_env(INFO, {**BASE, "GUICHET_IMAP_INFO_IDLE": "peut-être"})


# --- an IDLE session against Dovecot ------------------------------------------------------------


def test_idle_tells_a_new_mail_from_a_flag_change(accounts: Accounts) -> None:
    uid = accounts.append("info", build(), brussels(2026, 9, 13, 11, 0))
    never = threading.Event()
    with ImapSession(settings(accounts)) as session:
        assert session.prepare_idle()  # SELECT's EXISTS is forgotten: not news

        def flag_it() -> None:
            with accounts.dovecot.mailbox(accounts.users["info"]) as box:
                box.folder.set("INBOX")
                box.client.uid("STORE", str(uid), "+FLAGS.SILENT", "(guichet-traite)")

        # Announced (FETCH FLAGS) while idling or when IDLE starts: not a new mail.
        with_thread(flag_it, lambda: assert_false(session.wait_for_new_mail(10, never)))

        def append() -> None:
            accounts.append("info", build(message_id="<autre@x.example>"), brussels(2026, 9, 13))

        with_thread(append, lambda: assert_true(session.wait_for_new_mail(TIMEOUT, never)))


def with_thread(action: Callable[[], None], wait: Callable[[], None]) -> None:
    thread = threading.Thread(target=action)
    thread.start()
    try:
        wait()
    finally:
        thread.join(30)


def assert_true(value: bool) -> None:
    assert value is True


def assert_false(value: bool) -> None:
    assert value is False


def test_a_watch_calls_on_each_new_mail_and_stops_cleanly(accounts: Accounts) -> None:
    calls = Calls()
    with running(IdleWatch(settings(accounts), calls)) as watch:
        wait_for(watch.idling.is_set, "IDLE started")
        assert calls.count == 1  # on connecting: what came before it listened
        accounts.append("info", build(), brussels(2026, 9, 13, 11, 0))
        wait_for(lambda: calls.count >= 2, "new mail announced")
    assert not watch.idling.is_set()


# --- the worker, nudged ---------------------------------------------------------------------


class JobRuns:
    """Runs of the poll job as the scheduler sees them."""

    def __init__(self, scheduler: BackgroundScheduler) -> None:
        self.started = self.ended = 0
        scheduler.add_listener(self.seen, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED)

    def seen(self, event: JobEvent) -> None:
        if event.job_id == POLL_JOB:
            if event.code == EVENT_JOB_SUBMITTED:
                self.started += 1
            else:
                self.ended += 1

    def quiet(self, scheduler: BackgroundScheduler, nudge: PollNudge) -> bool:
        """No cycle running, none asked for, the next one an hour away."""
        job = scheduler.get_job(POLL_JOB)
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
        return self.started == self.ended and not nudge.pending and job.next_run_time > soon


def recorded(store: Store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message))


def test_a_worker_polling_hourly_records_a_mail_announced_by_idle(
    sqlite_store: Store, accounts: Accounts, checker
) -> None:
    mailboxes = programme_mailboxes(BLOSSOM.mailboxes, idle_env(accounts, "info"))
    worker = Worker(sqlite_store, BLOSSOM, mailboxes, checker=checker)
    scheduler = build_scheduler(worker, HOUR, hooks=(), scheduler_class=BackgroundScheduler)
    watches = watch_idle(scheduler, mailboxes)
    assert [w.settings.id for w in watches] == ["info"]
    nudge = watches[0].on_new_mail
    assert isinstance(nudge, PollNudge)
    runs = JobRuns(scheduler)
    scheduler.start()
    try:
        wait_for(watches[0].idling.is_set, "IDLE started")
        # The first cycle, and the one the watch asked for on connecting, are over: from
        # here on, only a push can run the poll job within the hour.
        wait_for(lambda: runs.quiet(scheduler, nudge), "first cycles over")
        assert worker.cycles >= 1 and recorded(sqlite_store) == 0
        cycles = worker.cycles

        accounts.append("info", build(), brussels(2026, 9, 13, 11, 0))

        wait_for(lambda: recorded(sqlite_store) == 1, "mail recorded")
        wait_for(lambda: worker.cycles > cycles, "cycle over")
    finally:
        scheduler.shutdown(wait=True)
        for watch in watches:
            watch.join(10)
    assert not any(w.is_alive() for w in watches)  # stopped with the scheduler


def test_a_nudge_runs_the_poll_job_now_and_once_more_if_it_came_during_a_cycle() -> None:
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    release = threading.Event()
    runs: list[int] = []

    def poll() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            release.wait(30)

    scheduler.add_job(
        poll, IntervalTrigger(hours=1), id=POLL_JOB, max_instances=1, coalesce=True,
        misfire_grace_time=3600, next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )  # fmt: skip
    nudge = PollNudge(scheduler)
    jobs = JobRuns(scheduler)
    scheduler.start()
    try:
        nudge()
        wait_for(lambda: runs == [1], "nudged run")
        for _ in range(3):  # during the cycle: one more after it, not three
            nudge()
        assert nudge.pending
        release.set()
        wait_for(lambda: jobs.quiet(scheduler, nudge), "runs over")
        assert runs == [1, 2]
    finally:
        release.set()
        scheduler.shutdown(wait=True)


def test_watch_idle_leaves_mailboxes_without_idle_alone(
    sqlite_store: Store, accounts: Accounts
) -> None:
    mailboxes = programme_mailboxes(BLOSSOM.mailboxes, accounts.env)
    worker = Worker(sqlite_store, BLOSSOM, mailboxes)
    scheduler = build_scheduler(worker, HOUR, hooks=(), scheduler_class=BackgroundScheduler)
    assert watch_idle(scheduler, mailboxes) == []
    assert scheduler.get_job(POLL_JOB).func == worker.poll  # not wrapped


# --- failures -----------------------------------------------------------------------------


def french_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("guichet")]


def test_a_refused_login_is_logged_without_secrets_and_tried_again(
    accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Calls()
    wrong = settings(accounts, PASSWORD="pas-le-bon")
    with caplog.at_level(logging.INFO, "guichet"):
        with running(IdleWatch(wrong, calls, retry=lambda failures: 0.05)) as watch:
            wait_for(lambda: len(french_lines(caplog)) >= 2, "two failures")
            # The password is put right on the server: the next try gets in.
            accounts.dovecot.add_user(accounts.users["info"], "pas-le-bon")
            wait_for(watch.idling.is_set, "IDLE after the fix")
        lines = french_lines(caplog)
    failures = [line for line in lines if "interrompue" in line]
    assert failures[0] == (
        "boîte « info » : notification (IDLE) interrompue (identifiant ou mot de passe "
        "refusé) ; nouvel essai dans 0,05 s"
    )
    assert lines[len(failures)] == "boîte « info » : notification (IDLE) rétablie"
    assert calls.count == 1
    text = "\n".join(lines)
    assert "@" not in text and "pas-le-bon" not in text and "localhost" not in text


class FakeSession:
    """An IDLE session that fails or announces as told (``script``: "new", "quiet", an
    exception)."""

    def __init__(self, script: list[object], supported: bool = True) -> None:
        self.script, self.supported, self.closed = script, supported, False

    def prepare_idle(self) -> bool:
        return self.supported

    def wait_for_new_mail(self, seconds: float, stop: threading.Event) -> bool:
        step = self.script.pop(0) if self.script else None
        if step is None:
            stop.wait(seconds)
            return False
        if isinstance(step, BaseException):
            raise step
        return step == "new"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def cut() -> MailboxError:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as e:
            raise MailboxError("boîte « info » (info@coopcity.be) : IDLE interrompu") from e
    except MailboxError as error:
        return error


def test_a_cut_connection_is_opened_again_and_announces_a_cycle(
    accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = [FakeSession(["quiet", cut()]), FakeSession(["new"])]
    calls = Calls()
    with caplog.at_level(logging.INFO, "guichet"):
        watch = IdleWatch(
            settings(accounts), calls, connect=lambda s: sessions.pop(0), retry=lambda n: 0.01
        )
        with running(watch):
            wait_for(lambda: calls.count == 3, "connect, reconnect, new mail")
    assert french_lines(caplog) == [
        "boîte « info » : notification (IDLE) active",
        (
            "boîte « info » : notification (IDLE) interrompue (connexion coupée) ; "
            "nouvel essai dans 0,01 s"
        ),
        "boîte « info » : notification (IDLE) rétablie",
    ]


def test_a_server_without_idle_is_left_to_polling(
    accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Calls()
    with caplog.at_level(logging.INFO, "guichet"):
        watch = IdleWatch(settings(accounts), calls, connect=lambda s: FakeSession([], False))
        watch.start()
        watch.join(10)
    assert not watch.is_alive() and calls.count == 0
    assert french_lines(caplog) == [
        "boîte « info » : le serveur ne propose pas IDLE ; relevé périodique seulement"
    ]


def test_reasons_name_no_address_and_retries_grow() -> None:
    assert reason(cut()) == "connexion coupée"
    assert reason(MailboxError("boîte « info » (info@coopcity.be) : x")) == (
        "commande refusée par le serveur"
    )
    assert reason(ValueError("info@coopcity.be")) == "erreur inattendue (ValueError)"
    assert [retry_delay(n) for n in (1, 2, 3, 7, 8, 50)] == [5, 10, 20, 300, 300, 300]


# --- guichet run ----------------------------------------------------------------------------


def test_run_with_idle_records_a_mail_without_waiting_for_the_hour(
    accounts: Accounts, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    env = {
        **idle_env(accounts, "info", "programme"),
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_POLL_MINUTES": "60",
    }
    log = tmp_path / "run.log"

    def messages() -> int:
        with contextlib.suppress(sqlite3.Error):
            uri = f"file:{data / 'guichet.sqlite3'}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1)) as db:
                return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return 0

    with running_worker(env, log) as worker:
        wait_for(lambda: log.read_text().count("notification (IDLE) active") == 2, "IDLE on")
        wait_for(lambda: " relevé : " in log.read_text(), "first cycle")
        accounts.append("programme", build(), brussels(2026, 9, 13, 11, 0))
        wait_for(lambda: messages() == 1, "mail recorded")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    text = log.read_text()
    lines = text.splitlines()
    assert (
        "relevé toutes les 60 min, relevé immédiat sur notification (IDLE) : info, programme"
        in (lines[0])
    )
    assert "arrêté proprement après" in lines[-1]
    assert "Traceback" not in text and "@" not in text and "interrompue" not in text
