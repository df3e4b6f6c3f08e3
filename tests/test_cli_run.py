"""`guichet run` as a process against Dovecot: it picks up a new mail, stops cleanly on a signal."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Accounts
from tests.mails import brussels, build
from tests.servers import DovecotServer, SmtpRelay, guichet_smtp_env
from tests.stores import dossier_mail

ROOT = Path(__file__).resolve().parent.parent


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    shown = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what}: not after {timeout} s\n--- worker log ---\n{shown}")


@contextlib.contextmanager
def running_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`guichet run` as a service would start it, with this process's environment but
    its GUICHET_ variables replaced by ``env``, its log (stderr) in ``log``; killed at the
    end if the test did not stop it."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    with open(log, "wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "guichet.cli", "run"],
            cwd=ROOT,
            env={**inherited, **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def messages(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_polls_until_stopped(accounts: Accounts, tmp_path: Path, signum: int) -> None:
    data = tmp_path / "var"
    env = {
        **accounts.env,
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_POLL_SECONDS": "0.5",
    }
    log = tmp_path / "run.log"
    with running_worker(env, log) as worker:
        wait_until(lambda: "relevé : " in log.read_text(), 60, "first cycle", log)
        accounts.append("info", build(), brussels(2026, 9, 13, 11, 0))
        wait_until(lambda: messages(data / "guichet.sqlite3") == 1, 60, "mail recorded", log)
        wait_until(lambda: "1 nouveau courriel" in log.read_text(), 30, "cycle logged", log)
        wait_until(lambda: "courriels : envoi désactivé" in log.read_text(), 30, "mail job", log)
        worker.send_signal(signum)
        assert worker.wait(30) == 0
    lines = log.read_text().splitlines()
    assert "démarrage : programme blossom-2026, 2 boîte(s), relevé toutes les 0,5 s" in lines[0]
    cycles = [line for line in lines if " relevé : " in line]
    assert any(
        "relevé : 1 nouveau courriel, 1 vérifié (incomplet 1) ; boîtes : info ok, programme ok"
        in line
        for line in cycles
    )
    assert any(f"arrêt demandé ({signal.Signals(signum).name})" in line for line in lines[-3:])
    assert "arrêté proprement après" in lines[-1]
    assert "Traceback" not in log.read_text() and "@" not in log.read_text()
    assert "envoi désactivé (GUICHET_SMTP_HOST non défini)" in lines[1]
    outgoing = [line for line in lines if " courriels : " in line]
    assert outgoing and all("envoi désactivé (GUICHET_SMTP_HOST" in line for line in outgoing)
    # One line per job run, nothing from APScheduler in between.
    assert len(lines) == len(cycles) + len(outgoing) + 4


def test_a_signal_before_the_first_cycle_still_stops_cleanly(
    accounts: Accounts, tmp_path: Path
) -> None:
    env = {
        **accounts.env,
        "GUICHET_DATA_DIR": str(tmp_path / "var"),
        "GUICHET_PROGRAMME": "blossom-2026",
    }
    log = tmp_path / "run.log"
    with running_worker(env, log) as worker:
        wait_until(lambda: "démarrage" in log.read_text(), 60, "start", log)
        worker.send_signal(signal.SIGTERM)  # the scheduler may not be running yet
        assert worker.wait(60) == 0
    text = log.read_text()
    assert "relevé toutes les 2 min" in text
    assert "arrêt demandé (SIGTERM)" in text and "arrêté proprement après" in text


def test_run_answers_the_applicant_over_smtp(
    accounts: Accounts, smtp_relay: SmtpRelay, dovecot: DovecotServer, applicant: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    env = {
        **accounts.env,
        "GUICHET_DATA_DIR": str(tmp_path / "var"),
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_POLL_SECONDS": "0.5",
        **guichet_smtp_env(smtp_relay),
    }
    log = tmp_path / "run.log"

    def received() -> list[str]:
        with dovecot.mailbox(applicant) as box:
            box.folder.set("INBOX")
            return [m.subject for m in box.fetch(mark_seen=False, bulk=True)]

    with running_worker(env, log) as worker:
        wait_until(lambda: "relevé : " in log.read_text(), 60, "first cycle", log)
        raw = dossier_mail("g02-nextline-npar2", sender=f"Els <{applicant}>")
        accounts.append("info", raw, brussels(2026, 9, 13, 11, 0))
        wait_until(lambda: len(received()) == 1, 90, "acknowledgement received", log)
        wait_until(lambda: "1 envoyé(s)" in log.read_text(), 30, "sending logged", log)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    assert received() == ["Accusé de réception – Potager Partagé SC – BLOSSOM 2026-2027"]
    text = log.read_text()
    assert "envoi désactivé" not in text and "Traceback" not in text
    assert applicant not in text  # counts only in the log
