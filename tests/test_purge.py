"""Purging a programme's personal data (triage.retention, guichet purge)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guichet.cli import main
from ingest.intake import DUPLICATE
from ingest.processing import Checker, check_pending
from notifications.outbox import plan_and_record
from tests.mails import brussels
from tests.stores import BLOSSOM, NOW, dossier_mail, file_mails, receive
from triage.models import PURGE, Application, Attachment, Event, MailCopy, Message, OutboxMail
from triage.retention import delete_files, purge_due_on, purge_programme
from triage.store import Store

MAILS = [
    (dossier_mail("g03-mixed-labels-npar3", annexes=("statuts",)), brussels(2026, 9, 3, 9, 0)),
    (dossier_mail("g09-table"), brussels(2026, 9, 4, 9, 0)),
]
PERSONAL = ("velosolidaire", "Vélo Solidaire", "habitatpartage", "Habitat Partagé")


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def archived_files(store: Store) -> list[Path]:
    return [p for p in store.archive.root.rglob("*.eml")]


def seeded(store: Store, checker: Checker) -> None:
    file_mails(store, MAILS, checker)
    with store.sessions.begin() as session:
        assert plan_and_record(session, store.archive, BLOSSOM, NOW)


def test_purge_removes_personal_data_and_keeps_tombstones(store: Store, checker: Checker) -> None:
    seeded(store, checker)
    assert count(store, Application) == 2 and count(store, OutboxMail) == 2
    assert len(archived_files(store)) == 4  # two mails in, two answers out

    with store.sessions.begin() as session:
        report = purge_programme(session, BLOSSOM)
    assert (report.messages, report.applications, report.outbox) == (2, 2, 2)
    assert delete_files(store.archive, report.files) == 4
    assert archived_files(store) == []
    for model in (Application, Attachment, OutboxMail):
        assert count(store, model) == 0
    with store.sessions() as session:
        messages = session.scalars(select(Message)).all()
        assert {m.state for m in messages} == {PURGE}
        assert all(m.sender is None and m.subject is None and m.structure is None for m in messages)
        assert count(store, MailCopy) == 2  # where they were polled from, no content
        texts = " ".join(e.detail for e in session.scalars(select(Event)))
    assert not any(word in texts for word in PERSONAL)


def test_a_purged_mail_polled_again_is_known_and_never_judged_again(
    store: Store, checker: Checker
) -> None:
    seeded(store, checker)
    with store.sessions.begin() as session:
        report = purge_programme(session, BLOSSOM)
    delete_files(store.archive, report.files)
    raw, when = MAILS[0]
    outcome, message_id = receive(store, raw, when - dt.timedelta(hours=1), uid=99_001)
    assert outcome == DUPLICATE
    assert check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker) == []
    with store.sessions() as session:
        assert session.get(Message, message_id).state == PURGE
        assert session.scalars(select(Application)).all() == []


def test_the_purge_is_due_after_the_retention_period() -> None:
    assert purge_due_on(BLOSSOM) == dt.date(2027, 10, 2)


def test_guichet_purge_simulates_refuses_early_and_erases_with_yes(
    sqlite_store: Store, checker: Checker, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    seeded(sqlite_store, checker)
    monkeypatch.setenv("GUICHET_DATA_DIR", str(sqlite_store.archive.root.parent))
    monkeypatch.setenv("GUICHET_DATABASE_URL", str(sqlite_store.engine.url))
    database = Path(str(sqlite_store.engine.url.database))

    assert main(["purge", "--programme", "blossom-2026"]) == 3  # the year is not over
    assert "court jusqu’au samedi 2 octobre 2027" in capsys.readouterr().err
    assert main(["purge", "--programme", "blossom-2026", "--force"]) == 0
    assert "Simulation" in capsys.readouterr().out
    assert count(sqlite_store, Application) == 2

    sqlite_store.engine.dispose()
    assert main(["purge", "--programme", "blossom-2026", "--force", "--yes"]) == 0
    assert "effacé" in capsys.readouterr().out
    assert count(sqlite_store, Application) == 0
    for file in (database, database.with_name(database.name + "-wal")):
        data = file.read_bytes() if file.exists() else b""  # no deleted page keeps old rows
        assert not any(word.encode() in data for word in PERSONAL), file.name
    assert oct(os.stat(database).st_mode & 0o777) == "0o600"
