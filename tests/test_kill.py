"""`kill -9` of `guichet poll --once` at random points of a 200-mail backlog, then a restart:
every mail stored and filed exactly once, and the same verdicts as a run never killed.
A mail the killed worker was checking stays claimed until its lease runs out (the test
makes it run out rather than wait ten minutes), then the next run files it.

The kill points are chosen by progress (copies recorded, mails filed, read from the SQLite
file while the worker runs), not by time, so they land mid-backlog on any machine."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import Accounts
from tests.mails import JPEG, brussels, build
from tests.servers import DovecotServer
from triage.models import Application, MailCopy, Message, Verdict
from triage.store import StoreSettings, open_store

ROOT = Path(__file__).resolve().parent.parent
RUN_POLL = (
    "import sys; from guichet import cli; "
    "cli.COMMANDS = tuple(dict.fromkeys((*cli.COMMANDS, 'poll'))); "
    "sys.exit(cli.main(['poll', '--once']))"
)
STRUCTURES = [f"Coopérative numéro {n}" for n in range(1, 21)]


def backlog() -> list[tuple[str, bytes]]:
    """200 mails: per structure a first mail, its annexes in three more, questions between;
    one mail in five reaches both mailboxes."""
    rng = random.Random(2026)
    mails: list[tuple[str, bytes]] = []
    for i in range(200):
        structure = STRUCTURES[i % len(STRUCTURES)]
        kind = i // len(STRUCTURES) % 5
        files = {
            0: {},
            1: {"Statuts.jpg": JPEG},
            2: {"Rapport d'activité 2025.jpg": JPEG},
            3: {"Bilan 2024.jpg": JPEG, "Bilan 2025.jpg": JPEG},
            4: {"CV de la personne de contact.jpg": JPEG},
        }[kind]
        subject = (
            f"Dossier de candidature – COOPCITY 2026 – {structure}"
            if i % 10
            else f"Question numéro {i}"
        )
        raw = build(
            sender=f"Contact {i % 20} <contact{i % 20}@structure{i % 20}.example>",
            subject=subject,
            message_id=f"<backlog-{i}@structure.example>",
            date=brussels(2026, 9, 1 + i % 12, 10, i % 60),
            body=f"Bonjour,\n\nEnvoi {i}.\n",
            files=files,
        )
        mailbox = "info" if rng.random() < 0.5 else "programme"
        mails.append((mailbox, raw))
        if i % 5 == 0:
            mails.append(("programme" if mailbox == "info" else "info", raw))
    return mails


def load(dovecot: DovecotServer, accounts: Accounts) -> int:
    by_box: dict[str, list[bytes]] = {"info": [], "programme": []}
    for mailbox, raw in backlog():
        by_box[mailbox].append(raw)
    for mailbox, raws in by_box.items():
        with dovecot.mailbox(accounts.users[mailbox]) as box:
            for n, raw in enumerate(raws):
                box.append(raw, "INBOX", dt=brussels(2026, 9, 12, 8, n // 60, n % 60))
    return sum(len(r) for r in by_box.values())


def environment(accounts: Accounts, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    return {
        **env,
        **accounts.env,
        "GUICHET_DATA_DIR": str(data),
        "GUICHET_PROGRAMME": "blossom-2026",
        "PYTHONPATH": str(ROOT),
    }


def progress(data: Path) -> tuple[int, int]:
    """(copies recorded, messages filed), read from the outside while a worker runs."""
    try:
        with contextlib.closing(sqlite3.connect(data / "guichet.sqlite3", timeout=1)) as db:
            copies = db.execute("SELECT count(*) FROM mail_copies").fetchone()[0]
            filed = db.execute("SELECT count(*) FROM messages WHERE state = 'traite'").fetchone()
            return copies, filed[0]
    except sqlite3.Error:  # not created yet, or busy
        return 0, 0


def poll(env: dict[str, str], log: Path, kill_when: Callable[[], bool] | None = None) -> bool:
    """Run one `guichet poll --once`; SIGKILL it as soon as ``kill_when()`` holds.
    True when it ran to its end."""
    with open(log, "ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN_POLL], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if kill_when is not None and kill_when():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return False
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
        process.wait()
    assert process.returncode == 0, log.read_text()
    return True


def claimed(data: Path) -> list[str]:
    """The workers holding a claim on a message (one per kill during a check at most)."""
    with contextlib.closing(sqlite3.connect(data / "guichet.sqlite3")) as db:
        query = "SELECT claimed_by FROM messages WHERE claimed_by IS NOT NULL"
        return [row[0] for row in db.execute(query)]


def expire_claims(data: Path) -> None:
    with contextlib.closing(sqlite3.connect(data / "guichet.sqlite3")) as db, db:
        db.execute(
            "UPDATE messages SET claimed_until = '2000-01-01 00:00:00.000000' "
            "WHERE claimed_by IS NOT NULL"
        )


def outcome(data: Path) -> dict[str, object]:
    settings = StoreSettings.from_env({"GUICHET_DATA_DIR": str(data)})
    with open_store(settings) as store, store.sessions() as session:
        verdicts_per_mail = session.execute(
            select(func.count())
            .select_from(Verdict)
            .where(Verdict.message_id.is_not(None))
            .group_by(Verdict.message_id)
        ).scalars()
        return {
            "messages": session.execute(
                select(Message.rfc_message_id, Message.state, Message.status).order_by(
                    Message.rfc_message_id
                )
            ).all(),
            "copies": session.scalar(select(func.count()).select_from(MailCopy)),
            "marked": session.scalar(
                select(func.count()).select_from(MailCopy).where(MailCopy.keyword_set)
            ),
            "verdicts_per_mail": set(verdicts_per_mail),
            "applications": session.execute(
                select(Application.structure_key, Application.status, Application.missing).order_by(
                    Application.structure_key
                )
            ).all(),
        }


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(
    dovecot: DovecotServer, accounts: Accounts, tmp_path: Path
) -> None:
    copies = load(dovecot, accounts)
    env = environment(accounts, tmp_path / "killed")
    rng = random.Random(9)
    log = tmp_path / "poll.log"
    data = tmp_path / "killed"
    # Three kills: while fetching (copies being recorded), then twice while checking.
    at_copy = rng.randrange(20, copies - 20)
    at_filed = sorted(rng.sample(range(10, 190), 2))
    assert not poll(env, log, lambda: progress(data)[0] >= at_copy)
    for n in at_filed:
        assert not poll(env, log, lambda n=n: progress(data)[1] >= n)
    assert poll(env, log)  # the restart that finishes the work…
    # …except the mails a killed worker was checking: their claims hold for the lease.
    held = claimed(data)
    assert len(held) <= len(at_filed)
    assert {state for _, state, _ in outcome(data)["messages"]} <= {"traite", "recu"}
    assert sum(state == "recu" for _, state, _ in outcome(data)["messages"]) == len(held)
    if held:
        expire_claims(data)  # as when ingest.processing.LEASE has passed
        assert poll(env, log)

    killed = outcome(tmp_path / "killed")
    assert killed["copies"] == killed["marked"] == copies
    assert {state for _, state, _ in killed["messages"]} == {"traite"}
    assert len(killed["messages"]) == 200
    assert killed["verdicts_per_mail"] == {1}  # each mail judged and filed exactly once

    # The same mails into a fresh store, never killed: the same verdicts.
    env_clean = environment(accounts, tmp_path / "clean")
    assert poll(env_clean, log)
    assert outcome(tmp_path / "clean") == killed
