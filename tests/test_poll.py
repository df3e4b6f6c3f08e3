"""Polling against a real Dovecot on loopback, with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.programme import load_programme
from guichet.errors import MailboxError
from ingest.mailbox import (
    FetchedMail,
    ImapSession,
    Mailbox,
    MailboxSettings,
    programme_mailboxes,
)
from ingest.poll import CycleReport, open_imap, run_cycle
from ingest.processing import Checker
from tests.conftest import Accounts
from tests.mails import brussels, fixture, sample, with_trace
from tests.servers import free_port
from triage.models import (
    KEYWORD,
    RECU,
    TRAITE,
    Application,
    Base,
    Event,
    MailboxCheckpoint,
    MailCopy,
    Message,
    Verdict,
)
from triage.store import Store, StoreSettings, open_store

BLOSSOM = load_programme("blossom-2026")
NOW = dt.datetime(2026, 9, 20, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
INFO, PROGRAMME = (m.address for m in BLOSSOM.mailboxes)  # the accounts in the store


def cycle(
    store: Store,
    accounts: Accounts,
    checker: Checker,
    now: dt.datetime = NOW,
    env: dict[str, str] | None = None,
    **kwargs: object,
) -> CycleReport:
    mailboxes = programme_mailboxes(BLOSSOM.mailboxes, accounts.env if env is None else env)
    return run_cycle(store, BLOSSOM, mailboxes, now, checker=checker, **kwargs)


def count(store: Store, model: type[Base]) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def snapshot(store: Store) -> dict[str, object]:
    """Everything a cycle may change, except the checkpoints' times."""
    with store.sessions() as session:
        return {
            "messages": session.execute(
                select(Message.id, Message.state, Message.status, Message.application_id)
            ).all(),
            "copies": session.execute(select(MailCopy.id, MailCopy.keyword_set)).all(),
            "applications": session.execute(
                select(Application.id, Application.status, Application.missing)
            ).all(),
            "verdicts": session.scalar(select(func.count()).select_from(Verdict)),
            "events": session.scalar(select(func.count()).select_from(Event)),
            "checkpoints": session.execute(
                select(MailboxCheckpoint.account, MailboxCheckpoint.uidvalidity, MailboxCheckpoint.last_uid)
            ).all(),
        }  # fmt: skip


def by_structure(store: Store) -> dict[str, Application]:
    with store.sessions() as session:
        found = session.scalars(select(Application)).all()
        for a in found:
            _ = [m.id for m in a.messages], [v.id for v in a.versions]
        return {a.structure_key: a for a in found}


class Recording:
    """A mailbox that records what polling asked of it (to count round trips)."""

    def __init__(self, inner: Mailbox, calls: list[tuple[str, object]]) -> None:
        self.inner, self.calls, self.settings = inner, calls, inner.settings

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)

        def recorded(*args: object) -> object:
            self.calls.append((name, args))
            return method(*args)

        return recorded


def recording(calls: list[tuple[str, object]]):
    return lambda settings: Recording(open_imap(settings), calls)


# --- a first cycle, and a second ----------------------------------------------------------


@pytest.fixture
def two_mailboxes(accounts: Accounts) -> dict[str, bytes]:
    """pe001 in both mailboxes (each copy with its own trace headers), and four others."""
    mails = {
        "pe001@info": with_trace(sample("pe001"), "info@coopcity.be"),
        "pe004": sample("pe004"),
        "pe001@programme": with_trace(sample("pe001"), "matthias@coopcity.be"),
        "pe002": sample("pe002"),
        "pe005": sample("pe005"),
    }
    accounts.append("info", mails["pe001@info"], brussels(2026, 9, 9, 16, 12, 40))
    accounts.append("info", mails["pe004"], brussels(2026, 9, 2, 11, 30))
    accounts.append("programme", mails["pe001@programme"], brussels(2026, 9, 9, 16, 12, 41))
    accounts.append("programme", mails["pe002"], brussels(2026, 9, 12, 21, 3, 5))
    accounts.append("programme", mails["pe005"], brussels(2026, 9, 10, 8, 0, 12))
    return mails


def test_a_cycle_archives_checks_files_and_marks(
    store: Store, accounts: Accounts, checker: Checker, two_mailboxes: dict[str, bytes]
) -> None:
    report = cycle(store, accounts, checker)

    info, programme = report.mailboxes
    assert (info.new, info.duplicates, info.error) == (2, 0, None)
    assert (programme.new, programme.duplicates, programme.error) == (2, 1, None)
    assert sorted(o.status for o in report.checked) == [
        "automatique", "complet", "incomplet", "non_candidature",
    ]  # fmt: skip
    assert count(store, Message) == 4 and count(store, MailCopy) == 5

    # Every copy archived as fetched, each mail checked once and marked handled.
    with store.sessions() as session:
        for copy in session.scalars(select(MailCopy)):
            assert store.archive.read(copy.raw_sha256).replace(b"\r\n", b"\n") in {
                raw.replace(b"\r\n", b"\n") for raw in two_mailboxes.values()
            }
            assert copy.keyword_set and copy.message.state == TRAITE
        creche = session.scalars(select(Message).where(Message.status == "complet")).one()
        assert len(creche.copies) == 2
        assert creche.received_at == brussels(2026, 9, 9, 16, 12, 40)  # the earlier copy
        points = {p.account: p for p in session.scalars(select(MailboxCheckpoint))}
        info_point, programme_point = points[INFO], points[PROGRAMME]
        assert (info_point.last_uid, programme_point.last_uid) == (2, 3)
        assert info_point.last_success_at == NOW and info_point.failures == 0
    for mailbox_id in ("info", "programme"):
        for uid, flags in accounts.flags(mailbox_id).items():
            assert KEYWORD in flags, (mailbox_id, uid)
            assert "\\Seen" not in flags  # read with BODY.PEEK: people still see it unread

    applications = by_structure(store)
    assert sorted(applications) == ["creche arc en ciel coop", "velotheque d ixelles"]
    assert applications["creche arc en ciel coop"].status == "complet"
    assert applications["creche arc en ciel coop"].reply_to == "omar@crechearcencielcoop.org"
    assert "annexe.cv" in applications["velotheque d ixelles"].missing


def test_a_second_cycle_changes_nothing(
    store: Store, accounts: Accounts, checker: Checker, two_mailboxes: dict[str, bytes]
) -> None:
    cycle(store, accounts, checker)
    before = snapshot(store)
    calls: list[tuple[str, object]] = []
    report = cycle(store, accounts, checker, NOW + 2 * MINUTE, connect=recording(calls))
    assert [(m.new, m.duplicates, m.already_known, m.keywords) for m in report.mailboxes] == [
        (0, 0, 0, 0), (0, 0, 0, 0),
    ]  # fmt: skip
    assert report.checked == []
    assert snapshot(store) == before
    # An unchanged folder costs its STATUS only: no SEARCH, no FETCH, no STORE.
    assert sorted(name for name, _ in calls) == ["close", "close", "folder_state", "folder_state"]


def test_only_new_uids_are_fetched_and_a_supplement_joins_its_application(
    store: Store, accounts: Accounts, checker: Checker, two_mailboxes: dict[str, bytes]
) -> None:
    cycle(store, accounts, checker)
    uid = accounts.append(
        "info", fixture("supplement_annexes_only"), brussels(2026, 9, 13, 11, 0, 2)
    )
    calls: list[tuple[str, object]] = []
    report = cycle(store, accounts, checker, NOW + 2 * MINUTE, connect=recording(calls))
    assert report.mailboxes[0].new == 1 and report.mailboxes[1].new == 0
    assert ("fetch", ([uid],)) in calls
    assert [c for c in calls if c[0] == "fetch"] == [("fetch", ([uid],))]
    velo = by_structure(store)["velotheque d ixelles"]
    assert len(velo.messages) == 2 and len(velo.versions) == 1
    assert not [m for m in velo.missing if m.startswith("annexe.")]
    assert velo.bilans_years == [2024, 2025]
    assert KEYWORD in accounts.flags("info")[uid]


# --- UIDVALIDITY ----------------------------------------------------------------------------


def test_a_uidvalidity_change_rescans_without_duplicates(
    store: Store, accounts: Accounts, checker: Checker
) -> None:
    folder = "Candidatures"
    env = {**accounts.env, "GUICHET_IMAP_INFO_FOLDER": folder}
    env = {k: v for k, v in env.items() if not k.startswith("GUICHET_IMAP_PROGRAMME_")}
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30), folder)
    accounts.append("info", sample("pe002"), brussels(2026, 9, 12, 21, 3, 5), folder)
    cycle(store, accounts, checker, env=env)
    with accounts.dovecot.mailbox(accounts.users["info"]) as box:
        old = box.folder.status(folder)["UIDVALIDITY"]
        box.folder.delete(folder)  # a server restored from a backup, a folder recreated…
        box.folder.create(folder)
        assert box.folder.status(folder)["UIDVALIDITY"] != old
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30), folder)
    accounts.append("info", sample("pe002"), brussels(2026, 9, 12, 21, 3, 5), folder)
    accounts.append("info", sample("pe005"), brussels(2026, 9, 10, 8, 0, 12), folder)

    report = cycle(store, accounts, checker, NOW + 2 * MINUTE, env=env)
    info = report.mailboxes[0]
    assert info.uidvalidity_changed and (info.new, info.duplicates) == (1, 2)
    assert count(store, Message) == 3 and len(by_structure(store)) == 1
    assert count(store, MailCopy) == 5  # the old coordinates are kept, for the record
    assert all(KEYWORD in flags for flags in accounts.flags("info", folder).values())
    with store.sessions() as session:
        point = session.scalars(
            select(MailboxCheckpoint).where(MailboxCheckpoint.account == INFO)
        ).one()
        assert point.folder == folder and point.uidvalidity != old and point.last_uid == 3
        kinds = session.scalars(select(Event.kind)).all()
        assert kinds.count("uidvalidity_changee") == 1 and kinds.count("courriel_recu") == 3


# --- the deadline ---------------------------------------------------------------------------


def test_the_deadline_is_judged_on_the_servers_receipt_time(
    store: Store, accounts: Accounts, checker: Checker
) -> None:
    # pe003's own headers say 10:00:01 and pe001's say 9 September: only INTERNALDATE counts.
    accounts.append("info", sample("pe003"), brussels(2026, 9, 14, 9, 59, 59))
    accounts.append("programme", sample("pe001"), brussels(2026, 9, 14, 10, 0, 1))
    cycle(store, accounts, checker)
    applications = by_structure(store)
    on_time = applications["traiteur mosaique"]
    late = applications["creche arc en ciel coop"]
    assert on_time.status != "hors_delai"
    assert on_time.first_received_at == brussels(2026, 9, 14, 9, 59, 59)
    assert late.status == "hors_delai"
    assert any("10:00:01" in w for w in late.warnings)


# --- failures -------------------------------------------------------------------------------


def test_a_mailbox_that_is_down_fails_alone_and_is_tried_again_later(
    store: Store, accounts: Accounts, checker: Checker
) -> None:
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    accounts.append("programme", sample("pe005"), brussels(2026, 9, 10, 8, 0, 12))
    down = {**accounts.env, "GUICHET_IMAP_PROGRAMME_PORT": str(free_port())}

    report = cycle(store, accounts, checker, env=down)
    info, programme = report.mailboxes
    assert info.new == 1 and info.error is None
    assert programme.error and "connexion impossible" in programme.error
    with store.sessions() as session:
        point = session.scalars(
            select(MailboxCheckpoint).where(MailboxCheckpoint.account == PROGRAMME)
        ).one()
        assert (point.failures, point.last_error, point.next_attempt_at) == (
            1, programme.error, NOW + MINUTE,
        )  # fmt: skip
        assert session.scalars(select(Event.kind).where(Event.account == PROGRAMME)).all() == [
            "boite_en_erreur"
        ]

    waiting = cycle(
        store, accounts, checker, NOW + 30 * dt.timedelta(seconds=1), env=down, force=False
    )
    assert waiting.mailboxes[1].skipped_until == NOW + MINUTE
    assert waiting.mailboxes[0].error is None

    back = cycle(store, accounts, checker, NOW + 2 * MINUTE, force=False)
    assert back.mailboxes[1].new == 1 and back.mailboxes[1].error is None
    with store.sessions() as session:
        point = session.scalars(
            select(MailboxCheckpoint).where(MailboxCheckpoint.account == PROGRAMME)
        ).one()
        assert (point.failures, point.last_error, point.next_attempt_at) == (0, None, None)
        assert "boite_retablie" in session.scalars(select(Event.kind)).all()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"GUICHET_IMAP_PROGRAMME_PASSWORD": "wrong"}, "mot de passe refusé"),
        ({"GUICHET_IMAP_PROGRAMME_CAFILE": ""}, "certificat refusé"),
        ({"GUICHET_IMAP_PROGRAMME_HOST": ""}, "GUICHET_IMAP_PROGRAMME_HOST n'est pas défini"),
        ({"GUICHET_IMAP_PROGRAMME_FOLDER": "Nulle part"}, "dossier « Nulle part » inaccessible"),
    ],
)
def test_a_mailbox_error_is_named_and_the_other_mailbox_polled(
    sqlite_store: Store,
    accounts: Accounts,
    checker: Checker,
    change: dict[str, str],
    expected: str,
) -> None:
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    report = cycle(sqlite_store, accounts, checker, env={**accounts.env, **change})
    assert report.mailboxes[0].new == 1
    assert expected in (report.mailboxes[1].error or "")


def test_tls_can_be_told_not_to_verify_for_a_local_server(
    sqlite_store: Store, accounts: Accounts, checker: Checker
) -> None:
    env = {**accounts.env, "GUICHET_IMAP_INFO_CAFILE": "", "GUICHET_IMAP_INFO_TLS_VERIFY": "0"}
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    assert cycle(sqlite_store, accounts, checker, env=env).mailboxes[0].new == 1


class CutAfterFirst:
    """A session whose connection drops after the first mail of a FETCH."""

    def __init__(self, inner: ImapSession) -> None:
        self.inner, self.settings = inner, inner.settings

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def fetch(self, uids: Sequence[int]) -> Iterator[FetchedMail]:
        yield next(iter(self.inner.fetch(uids)))
        raise MailboxError(f"boîte {self.settings.label} : connexion interrompue (essai)")


def test_a_connection_cut_mid_fetch_loses_nothing_and_repeats_nothing(
    store: Store, accounts: Accounts, checker: Checker
) -> None:
    for i, name in enumerate(("pe004", "pe005", "pe002")):
        accounts.append("info", sample(name), brussels(2026, 9, 2 + i, 11, 30))

    def cut(settings: MailboxSettings) -> Mailbox:
        session = open_imap(settings)
        return CutAfterFirst(session) if settings.id == "info" else session

    report = cycle(store, accounts, checker, connect=cut)
    assert report.mailboxes[0].error and report.mailboxes[0].new == 1
    with store.sessions() as session:
        point = session.scalars(
            select(MailboxCheckpoint).where(MailboxCheckpoint.account == INFO)
        ).one()
        assert point.last_uid == 1 and point.failures == 1
    assert KEYWORD not in accounts.flags("info")[1]  # the session died before marking

    report = cycle(store, accounts, checker, NOW + 2 * MINUTE)
    assert report.mailboxes[0].new == 2
    assert count(store, Message) == count(store, MailCopy) == 3
    assert all(KEYWORD in flags for flags in accounts.flags("info").values())


class DroppedWhileChecking:
    """A session the server closed while the checks ran (its idle timeout)."""

    def __init__(self, inner: Mailbox) -> None:
        self.inner, self.settings = inner, inner.settings

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def add_keyword(self, uids: Sequence[int], keyword: str) -> None:
        raise MailboxError(f"boîte {self.settings.label} : STORE a échoué (socket error: EOF)")


def test_a_session_dropped_during_the_checks_is_opened_again_to_mark(
    sqlite_store: Store, accounts: Accounts, checker: Checker
) -> None:
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    opened: list[str] = []

    def first_one_drops(settings: MailboxSettings) -> Mailbox:
        opened.append(settings.id)
        session = open_imap(settings)
        return DroppedWhileChecking(session) if opened.count(settings.id) == 1 else session

    report = cycle(sqlite_store, accounts, checker, connect=first_one_drops)
    assert [m.error for m in report.mailboxes] == [None, None]
    assert report.mailboxes[0].keywords == 1 and opened.count("info") == 2
    assert KEYWORD in accounts.flags("info")[1]


class Crash(BaseException):
    """The worker dies (kill, power cut): nothing catches it."""


def test_a_crash_during_the_checks_loses_nothing_and_repeats_nothing(
    store: Store, accounts: Accounts, checker: Checker, two_mailboxes: dict[str, bytes]
) -> None:
    seen: list[bytes] = []

    def dies_on_the_third(raw: bytes, received: dt.datetime | None, programme_id: str | None):
        seen.append(raw)
        if len(seen) == 3:
            raise Crash
        return checker(raw, received, programme_id)

    with pytest.raises(Crash):
        cycle(store, accounts, dies_on_the_third)
    with store.sessions() as session:
        states = session.scalars(select(Message.state).order_by(Message.received_at)).all()
        assert states == [TRAITE, TRAITE, RECU, RECU]  # all recorded; two filed
        assert not session.scalars(select(MailCopy).where(MailCopy.keyword_set)).all()

    report = cycle(store, accounts, checker, NOW + 2 * MINUTE)
    assert [m.new for m in report.mailboxes] == [0, 0]
    assert len(report.checked) == 2  # only the two that were waiting
    assert count(store, Message) == 4 and count(store, MailCopy) == 5
    assert len(by_structure(store)) == 2
    for mailbox_id in ("info", "programme"):
        assert all(KEYWORD in flags for flags in accounts.flags(mailbox_id).values())


# --- two workers ----------------------------------------------------------------------------


def test_two_workers_on_postgresql_handle_each_mail_once(
    postgres_url: str, tmp_path: Path, accounts: Accounts, checker: Checker
) -> None:
    accounts.append(
        "info", with_trace(sample("pe001"), "info@coopcity.be"), brussels(2026, 9, 9, 16, 12, 40)
    )
    accounts.append("programme", sample("pe001"), brussels(2026, 9, 9, 16, 12, 41))
    accounts.append("programme", sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    accounts.append("info", fixture("supplement_annexes_only"), brussels(2026, 9, 13, 11, 0, 2))
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    accounts.append("programme", sample("pe005"), brussels(2026, 9, 10, 8, 0, 12))
    settings = StoreSettings(data_dir=tmp_path / "var", database_url=postgres_url)
    workers = [open_store(settings), open_store(settings)]  # two engines, two connections
    start = threading.Barrier(2)

    def work(store: Store) -> CycleReport:
        start.wait()
        return cycle(store, accounts, checker)

    try:
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(work, workers))
        store = workers[0]
        assert all(not r.failed for r in reports)
        assert sum(m.new for r in reports for m in r.mailboxes) == 5
        assert sum(len(r.checked) for r in reports) == 5  # each mail filed by one worker
        with store.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Message)) == 5
            assert session.scalar(select(func.count()).select_from(MailCopy)) == 6
            per_mail = session.execute(
                select(Verdict.message_id, func.count())
                .where(Verdict.message_id.is_not(None))
                .group_by(Verdict.message_id)
            ).all()
            assert len(per_mail) == 5 and {n for _, n in per_mail} == {1}
            kinds = session.scalars(select(Event.kind)).all()
            assert kinds.count("courriel_recu") == 5 and kinds.count("candidature_creee") == 2
        assert sorted(by_structure(store)) == ["creche arc en ciel coop", "velotheque d ixelles"]
        before = snapshot(store)
        cycle(store, accounts, checker, NOW + 2 * MINUTE)
        assert snapshot(store) == before
    finally:
        for store in workers:
            store.close()
