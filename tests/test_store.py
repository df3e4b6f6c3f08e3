"""The store (triage.models, triage.store, ingest.intake, triage.filing, ingest.processing)
on a real SQLite file and a real PostgreSQL database, without a mail server."""

from __future__ import annotations

import datetime as dt
import itertools
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from config.programme import load_programme
from tests.conftest import sqlite_settings
from guichet.errors import UnreadableMessage
from ingest.fingerprint import fingerprint
from ingest.intake import DUPLICATE, KNOWN, NEW, CopyFacts, record_copy
from ingest.processing import Checker, check_pending, reprocess
from tests.mails import brussels, build, fixture, sample, with_trace
from triage.models import (
    ERREUR,
    RECU,
    TRAITE,
    Application,
    ApplicationVersion,
    Attachment,
    Base,
    Correction,
    Decision,
    DeskUser,
    Event,
    JSONType,
    MailCopy,
    Message,
    OutboxMail,
    ParsedDossier,
    UTCDateTime,
    Verdict,
)
from triage.store import (
    Store,
    StoreSettings,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    open_store,
    upgrade,
)

BLOSSOM = load_programme("blossom-2026")
NOW = dt.datetime(2026, 9, 20, 8, 0, tzinfo=dt.UTC)
_uids = itertools.count(1)


def receive(
    store: Store, raw: bytes, when: dt.datetime, account: str = "info", uid: int | None = None
) -> tuple[str, int]:
    sha = store.archive.store(raw)
    facts = CopyFacts(
        programme_id="blossom-2026", account=account, folder="INBOX", uidvalidity=7, uid=uid or next(_uids),
        internal_date=when, raw_sha256=sha, size=len(raw), fingerprint=fingerprint(raw),
    )  # fmt: skip
    with store.sessions.begin() as session:
        outcome, message = record_copy(session, facts, NOW)
        return outcome, message.id


def count(store: Store, model: type[Base]) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def applications(store: Store) -> list[Application]:
    with store.sessions() as session:
        found = session.scalars(select(Application).order_by(Application.id)).all()
        for a in found:
            _ = [m.id for m in a.messages], [v.number for v in a.versions]
        return list(found)


# --- schema -----------------------------------------------------------------------------


def test_schema_is_at_head_and_matches_the_models(store: Store) -> None:
    assert current_revision(store.engine) == head_revision() == "0005"
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def _rows_of_0002(connection: sa.Connection) -> None:
    """One mail with a parsed dossier, its application and their verdicts, as 0002 stored them."""
    when = brussels(2026, 9, 2, 11, 30)
    json_, time_ = JSONType, UTCDateTime()
    applications_ = sa.table(
        "applications", *[sa.column(c) for c in ("id", "programme_id", "structure_key", "status")],
        *[sa.column(c, json_) for c in ("missing", "annexes", "bilans_years", "warnings")],
        *[sa.column(c, time_) for c in ("first_received_at", "last_received_at", "created_at",
                                        "updated_at")],
    )  # fmt: skip
    messages = sa.table(
        "messages", *[sa.column(c) for c in ("id", "content_hash", "raw_sha256", "size", "state",
                                             "attempts", "application_id")],
        sa.column("references", json_), sa.column("received_at", time_),
        sa.column("created_at", time_),
    )  # fmt: skip
    parsed = sa.table(
        "parsed_fields", *[sa.column(c) for c in ("id", "message_id", "programme_id", "filename",
                                                  "format", "tracked_changes")],
        *[sa.column(c, json_) for c in ("fields", "missing", "warnings")],
        sa.column("created_at", time_),
    )  # fmt: skip
    verdicts = sa.table(
        "verdicts", *[sa.column(c) for c in ("id", "message_id", "application_id", "status")],
        *[sa.column(c, json_) for c in ("missing", "annexes", "bilans_years", "warnings")],
        sa.column("created_at", time_),
    )  # fmt: skip
    lists = {"missing": ["annexe.cv"], "annexes": {}, "bilans_years": [], "warnings": []}
    connection.execute(applications_.insert().values(
        id=1, programme_id="blossom-2026", structure_key="velo", status="incomplet", **lists,
        first_received_at=when, last_received_at=when, created_at=when, updated_at=when,
    ))  # fmt: skip
    connection.execute(messages.insert().values(
        id=1, content_hash="a" * 64, raw_sha256="b" * 64, size=10, state=TRAITE, attempts=1,
        application_id=1, references=[], received_at=when, created_at=when,
    ))  # fmt: skip
    connection.execute(parsed.insert().values(
        id=1, message_id=1, programme_id="blossom-2026", filename="d.docx", format="docx",
        tracked_changes=False, fields={"entreprise.nom": "Vélo"}, missing=[], warnings=[],
        created_at=when,
    ))  # fmt: skip
    for n, (message_id, application_id) in enumerate([(1, None), (None, 1)], start=1):
        connection.execute(verdicts.insert().values(
            id=n, message_id=message_id, application_id=application_id, status="incomplet",
            created_at=when, **lists,
        ))  # fmt: skip


def downgrade(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def empty_database(request: pytest.FixtureRequest, tmp_path: Path, database: str) -> StoreSettings:
    """An empty database of the kind asked: a SQLite file, or the PostgreSQL test server's."""
    if database == "sqlite":
        return sqlite_settings(tmp_path)
    return StoreSettings(tmp_path / "var", request.getfixturevalue("postgres_url"))


def filed_at_0002_then(settings: StoreSettings, *, up_to: str, back_to: str) -> None:
    """Rows filed at revision 0002, migrated up to ``up_to``, down to ``back_to``, then to
    the head: what the test reads afterwards went through both ways."""
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as connection:
            _rows_of_0002(connection)
        upgrade(engine, up_to)
        assert current_revision(engine) == up_to
        downgrade(engine, back_to)
        assert current_revision(engine) == back_to
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migration_0003_gives_what_was_filed_before_nothing_unread(
    request: pytest.FixtureRequest, tmp_path: Path, database: str
) -> None:
    settings = empty_database(request, tmp_path, database)
    # and back: nothing filed before is lost on the way
    filed_at_0002_then(settings, up_to="0003", back_to="0002")
    with open_store(settings) as store, store.sessions() as session:
        application = session.get(Application, 1)
        assert application is not None
        assert application.unread == [] and application.missing == ["annexe.cv"]
        parsed = session.scalars(select(ParsedDossier)).one()
        assert parsed.unread == [] and parsed.unread_raw == {}
        assert parsed.fields == {"entreprise.nom": "Vélo"}
        assert [v.unread for v in session.scalars(select(Verdict))] == [[], []]


def test_opening_again_migrates_nothing(store: Store) -> None:
    receive(store, sample("pe004"), brussels(2026, 9, 2, 11, 30))
    with open_store(store.settings) as again:
        assert current_revision(again.engine) == head_revision()
        assert count(again, Message) == 1


def test_sqlite_file_and_folders_are_private(sqlite_store: Store) -> None:
    data = sqlite_store.settings.data_dir
    receive(sqlite_store, sample("pe004"), brussels(2026, 9, 2, 11, 30))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_times_come_back_aware(store: Store) -> None:
    when = brussels(2026, 9, 14, 9, 59, 59)
    with store.sessions.begin() as session:
        session.add(Event(at=when, kind="essai", detail="essai", data={"é": [1]}))
    with store.sessions() as session:
        event = session.scalars(select(Event)).one()
        assert event.at == when and event.at.tzinfo is not None
        assert event.at.utcoffset() == dt.timedelta(0)
        assert event.data == {"é": [1]}


# --- recording and deduplication --------------------------------------------------------


def test_recording_a_copy_twice_is_a_no_op(store: Store) -> None:
    raw = sample("pe004")
    first = receive(store, raw, brussels(2026, 9, 2, 11, 30), uid=5)
    again = receive(store, raw, brussels(2026, 9, 2, 11, 30), uid=5)
    assert first[0] == NEW and again == (KNOWN, first[1])
    assert count(store, Message) == count(store, MailCopy) == 1


def test_the_same_mail_in_both_mailboxes_is_one_message(store: Store) -> None:
    raw = sample("pe001")
    a = receive(
        store, with_trace(raw, "info@coopcity.be"), brussels(2026, 9, 9, 16, 12, 40), "info"
    )
    b = receive(store, raw, brussels(2026, 9, 9, 16, 12, 41), "programme")
    assert (a[0], b[0]) == (NEW, DUPLICATE) and a[1] == b[1]
    with store.sessions() as session:
        copies = session.scalars(select(MailCopy)).all()
        assert {c.account for c in copies} == {"info", "programme"}
        assert len({c.raw_sha256 for c in copies}) == 2  # both copies archived
        for c in copies:
            assert store.archive.read(c.raw_sha256)


def test_a_rewritten_message_id_is_still_the_same_mail(store: Store) -> None:
    raw = build(message_id="<original@example.org>")
    receive(store, raw, brussels(2026, 9, 13, 11, 0))
    rewritten = raw.replace(b"<original@example.org>", b"<gateway-123@relay.example>")
    assert receive(store, rewritten, brussels(2026, 9, 13, 11, 0))[0] == DUPLICATE


def test_same_id_sender_and_date_with_a_reencoded_body_is_the_same_mail(store: Store) -> None:
    receive(store, build(body="Bonjour\n"), brussels(2026, 9, 13, 11, 0))
    footer = build(body="Bonjour\n\n-- \nScanned by a relay\n")
    assert receive(store, footer, brussels(2026, 9, 13, 11, 0))[0] == DUPLICATE


def test_a_reused_message_id_on_another_mail_is_another_message(store: Store) -> None:
    receive(store, build(date=brussels(2026, 9, 13, 11, 0)), brussels(2026, 9, 13, 11, 0))
    later = build(date=brussels(2026, 9, 13, 12, 0), body="Autre chose\n")
    assert receive(store, later, brussels(2026, 9, 13, 12, 0))[0] == NEW
    assert count(store, Message) == 2


def test_an_earlier_copy_moves_the_receipt_time_and_asks_for_a_new_check(store: Store) -> None:
    raw = sample("pe004")
    _, mid = receive(store, raw, brussels(2026, 9, 2, 11, 31), "programme")
    with store.sessions.begin() as session:
        session.get(Message, mid).state = TRAITE
    receive(store, with_trace(raw, "info@coopcity.be"), brussels(2026, 9, 2, 11, 30), "info")
    with store.sessions() as session:
        message = session.get(Message, mid)
        assert message.received_at == brussels(2026, 9, 2, 11, 30)
        assert message.state == RECU


# --- checking and filing ----------------------------------------------------------------


def test_checked_mails_are_filed_into_one_application_per_structure(
    store: Store, checker: Checker
) -> None:
    receive(store, sample("pe004"), brussels(2026, 9, 2, 11, 30))
    receive(store, sample("pe005"), brussels(2026, 9, 10, 8, 0, 12))
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5), "programme")
    receive(store, fixture("supplement_annexes_only"), brussels(2026, 9, 13, 11, 0, 2), "programme")
    outcomes = check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    assert [o.status for o in outcomes] == [
        "non_candidature", "automatique", "incomplet", "incomplet",
    ]  # fmt: skip
    [velo] = applications(store)
    assert velo.structure_key == "velotheque d ixelles"
    assert velo.bilans_years == [2024, 2025]
    assert velo.reply_to == "alexandre@lavelothequedixelles.org"
    assert len(velo.messages) == 2 and len(velo.versions) == 1 and velo.versions[0].counts
    with store.sessions() as session:
        states = session.execute(select(Message.state, Message.status, Message.role)).all()
        assert {s for s, _, _ in states} == {TRAITE}
        assert sorted((r or "") for _, _, r in states) == ["", "", "complement", "dossier"]
        parsed = session.scalars(select(ParsedDossier)).one()
        assert parsed.fields["entreprise.nom"]
        # The supplement brought the 2024 bilan and the CV: only the form's gaps remain.
        assert velo.missing == sorted(parsed.missing)
        assert velo.status == ("incomplet" if parsed.missing else "complet")
        roles = {a.filename: (a.role, a.annex_keys) for a in session.scalars(select(Attachment))}
        assert roles["CV Alexandre Mukendi.pdf"] == ("annexe", ["cv"])
        assert roles["Comptes 2024.pdf"] == ("annexe", ["bilans"])
        history = session.scalars(
            select(Verdict.status).where(Verdict.application_id == velo.id).order_by(Verdict.id)
        ).all()
        assert len(history) == 2 and history[0] == "incomplet"  # before and after the supplement
        kinds = session.scalars(select(Event.kind)).all()
        assert kinds.count("candidature_creee") == 1


def test_the_latest_dossier_before_the_deadline_counts(store: Store, checker: Checker) -> None:
    receive(store, sample("pe001"), brussels(2026, 9, 9, 16, 12, 40))
    receive(store, fixture("deadline_095959"), brussels(2026, 9, 14, 9, 59, 59))
    receive(store, fixture("deadline_100001"), brussels(2026, 9, 14, 10, 0, 1))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [creche] = applications(store)
    assert [(v.number, v.counts) for v in creche.versions] == [(1, False), (2, True), (3, False)]
    with store.sessions() as session:
        counted = session.scalars(select(ApplicationVersion).where(ApplicationVersion.counts)).one()
        assert counted.received_at == brussels(2026, 9, 14, 9, 59, 59)
        assert creche.status == counted.message.status  # that mail alone decides
        assert creche.status != "hors_delai"
    assert any("après la clôture" in w for w in creche.warnings)


def test_an_unread_answer_is_kept_to_check_and_judged_again_with_a_new_version(
    store: Store, checker: Checker
) -> None:
    receive(store, fixture("unread_creation_date"), brussels(2026, 9, 8, 10, 30))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [creche] = applications(store)
    assert creche.status == "complet" and creche.missing == []
    assert creche.unread == ["entreprise.date_creation"]
    assert any("« le lendemain de notre AG »" in w for w in creche.warnings)
    with store.sessions() as session:
        parsed = session.scalars(select(ParsedDossier)).one()
        assert parsed.missing == [] and parsed.unread == ["entreprise.date_creation"]
        assert parsed.unread_raw == {"entreprise.date_creation": "le lendemain de notre AG"}
        judged = session.scalars(select(Verdict).order_by(Verdict.id)).all()
        assert [(v.status, v.unread) for v in judged] == [
            ("complet", ["entreprise.date_creation"]),  # the mail's
            ("complet", ["entreprise.date_creation"]),  # the application's
        ]
        event = session.scalars(select(Event).where(Event.kind == "candidature_jugee")).one()
        assert "à vérifier : entreprise.date_creation" in event.detail
        assert event.data["unread"] == ["entreprise.date_creation"]

    # A new version with the date written as a date: nothing left to check.
    receive(store, fixture("deadline_095959"), brussels(2026, 9, 14, 9, 59, 59))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [creche] = applications(store)
    assert len(creche.versions) == 2 and creche.versions[1].counts
    assert creche.status == "complet" and creche.unread == []
    assert not any("le lendemain" in w for w in creche.warnings)
    with store.sessions() as session:
        latest = session.scalars(
            select(Verdict).where(Verdict.application_id == creche.id).order_by(Verdict.id.desc())
        ).first()
        assert latest is not None and latest.unread == []


def test_a_reply_joins_its_thread_whatever_name_it_gives(store: Store, checker: Checker) -> None:
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    reply = build(
        subject="RE: Dossier de candidature – COOPCITY 2026 – Vélothèque",
        in_reply_to="<ow3hqqw0p6nhtv5v@lavelothequedixelles.org>",
        sender="Someone Else <compta@fiduciaire.example>",
        files={"CV Alexandre Mukendi.pdf": b"%PDF-1.4\n"},
    )
    receive(store, reply, brussels(2026, 9, 13, 11, 0))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [velo] = applications(store)
    assert len(velo.messages) == 2
    assert "annexe.cv" not in velo.missing


def test_a_mail_without_structure_joins_its_senders_application(
    store: Store, checker: Checker
) -> None:
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    unnamed = build(subject="Dossier de candidature – COOPCITY 2026", message_id="<u@x>")
    receive(store, unnamed, brussels(2026, 9, 13, 11, 0))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [velo] = applications(store)
    assert len(velo.messages) == 2


def test_a_sender_known_first_without_a_name_gets_it_from_the_dossier(
    store: Store, checker: Checker
) -> None:
    unnamed = build(subject="Dossier de candidature – COOPCITY 2026", message_id="<u@x>")
    receive(store, unnamed, brussels(2026, 9, 11, 11, 0))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    assert applications(store)[0].structure_key == "courriel:alexandre@lavelothequedixelles.org"
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [velo] = applications(store)
    assert velo.structure_key == "velotheque d ixelles" and len(velo.messages) == 2


def test_a_failed_check_is_parked_then_reprocessed(store: Store, checker: Checker) -> None:
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))

    def broken(raw: bytes, received: dt.datetime | None, programme_id: str | None):
        raise UnreadableMessage("message illisible (essai)")

    [outcome] = check_pending(store.sessions, store.archive, BLOSSOM, NOW, broken)
    assert outcome.error == "message illisible (essai)"
    with store.sessions() as session:
        message = session.scalars(select(Message)).one()
        assert (message.state, message.reason, message.attempts) == (
            ERREUR, "message illisible (essai)", 1,
        )  # fmt: skip
    assert (
        check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker) == []
    )  # parked, not retried
    [again] = reprocess(
        store.sessions, store.archive, BLOSSOM, NOW, only_errors=True, checker=checker
    )
    assert again.status == "incomplet" and again.error is None
    assert applications(store)[0].status == "incomplet"


def test_reprocessing_everything_changes_nothing_that_was_right(
    store: Store, checker: Checker
) -> None:
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    receive(store, fixture("supplement_annexes_only"), brussels(2026, 9, 13, 11, 0, 2))
    receive(store, sample("pe004"), brussels(2026, 9, 2, 11, 30))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    before = [(a.id, a.structure_key, a.status, a.missing) for a in applications(store)]
    verdicts = count(store, Verdict)
    outcomes = reprocess(store.sessions, store.archive, BLOSSOM, NOW, checker=checker)
    assert len(outcomes) == 3 and all(o.status == o.previous_status for o in outcomes)
    assert [(a.id, a.structure_key, a.status, a.missing) for a in applications(store)] == before
    assert count(store, Verdict) == verdicts + 3  # one more per mail, none per application
    assert count(store, Attachment) > 0 and count(store, ApplicationVersion) == 1


# --- room for the mails out (issue 5) ---------------------------------------------------


def test_outbox_keys_are_unique_and_decisions_keep_history(store: Store, checker: Checker) -> None:
    receive(store, sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    [velo] = applications(store)
    with store.sessions.begin() as session:
        session.add(
            OutboxMail(
                key=f"accuse:{velo.id}:1", kind="accuse_reception", application_id=velo.id,
                version_id=velo.versions[0].id, recipient=velo.reply_to, subject="Accusé",
                rfc_message_id="<a1@guichet>", created_at=NOW,
            )
        )  # fmt: skip
        session.add(
            Decision(application_id=velo.id, decision="attente", source="cli", created_at=NOW)
        )
        session.add(
            Decision(application_id=velo.id, decision="retenu", source="cli", created_at=NOW)
        )
    with pytest.raises(IntegrityError), store.sessions.begin() as session:
        session.add(
            OutboxMail(
                key=f"accuse:{velo.id}:1", kind="accuse_reception", application_id=velo.id,
                recipient="x@y", subject="Accusé", rfc_message_id="<a2@guichet>", created_at=NOW,
            )
        )  # fmt: skip
    with store.sessions() as session:
        outbox = session.scalars(select(OutboxMail)).one()
        assert (outbox.state, outbox.attempts) == ("enregistre", 0)
        assert session.scalars(select(Decision.decision).order_by(Decision.id)).all() == [
            "attente", "retenu",
        ]  # fmt: skip


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migration_0004_keeps_what_was_filed_and_goes_back(
    request: pytest.FixtureRequest, tmp_path: Path, database: str
) -> None:
    settings = empty_database(request, tmp_path, database)
    # the desk's tables and columns go, nothing filed does
    filed_at_0002_then(settings, up_to="0004", back_to="0003")
    with open_store(settings) as store, store.sessions() as session:
        application = session.get(Application, 1)
        assert application is not None and application.missing == ["annexe.cv"]
        assert application.status_override is None and application.override_reason is None
        assert session.scalars(select(Correction)).all() == []
        assert session.scalars(select(DeskUser)).all() == []
