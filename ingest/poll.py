"""One polling cycle over a programme's mailboxes.

1. Each mailbox: compare UIDVALIDITY with the checkpoint (a change starts the folder
   over; deduplication keeps that from creating anything twice), list the UIDs above
   the last one seen, fetch them in batches (raw bytes with ``BODY.PEEK``, INTERNALDATE),
   archive each raw mail, then record it (copy, message, checkpoint: one transaction).
2. Check and file every message waiting (``ingest.processing``), from all mailboxes at
   once, oldest first: a supplement is filed after the dossier it completes. Each one is
   claimed first (a lease): another worker on the same database skips it meanwhile.
3. Each mailbox again: the ``guichet-traite`` keyword on the copies of filed messages.

A mailbox that fails (unreachable, login refused, cut mid-cycle) is recorded on its
checkpoint with a growing delay before the next try; the others carry on. What was
recorded before a failure or a crash stays; nothing is recorded twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config.programme import Programme, all_programmes, load_programme
from guichet.errors import ConfigError, MailboxError
from ingest import faults
from ingest.fingerprint import fingerprint
from ingest.intake import DUPLICATE, KNOWN, NEW, CopyFacts, checkpoint, log_event, record_copy
from ingest.mailbox import ImapSession, Mailbox, MailboxSettings, UnconfiguredMailbox
from ingest.processing import (
    Checker,
    CheckOutcome,
    Clock,
    check_one,
    pending_ids,
    running_clock,
    worker_identity,
)
from triage.check import check_message
from triage.models import KEYWORD, TRAITE, MailCopy, Message
from triage.store import Store

BATCH_BYTES = 20_000_000  # fetch at most this much per FETCH command…
BATCH_COUNT = 50  # …and at most this many mails
BACKOFF_MAX = dt.timedelta(hours=1)


@dataclass
class MailboxReport:
    id: str
    address: str
    new: int = 0
    duplicates: int = 0
    already_known: int = 0
    keywords: int = 0
    uidvalidity_changed: bool = False
    error: str | None = None
    skipped_until: dt.datetime | None = None


@dataclass
class CycleReport:
    mailboxes: list[MailboxReport] = field(default_factory=list)
    checked: list[CheckOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[MailboxReport]:
        return [m for m in self.mailboxes if m.error]


Connect = Callable[[MailboxSettings], Mailbox]


class Progress(Protocol):
    """Told how a cycle advances (``guichet poll --once`` draws it on a long backlog)."""

    def start(self, what: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def done(self) -> None: ...


class NoProgress:
    def start(self, what: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass

    def done(self) -> None:
        pass


PROGRAMME_ENV = "GUICHET_PROGRAMME"


def polled_programme(programme_id: str | None, env: Mapping[str, str]) -> Programme:
    """The programme named (option, else ``GUICHET_PROGRAMME``), else the one with
    mailboxes whose call closes last."""
    chosen = programme_id or env.get(PROGRAMME_ENV)
    if chosen:
        return load_programme(chosen)
    candidates = [p for p in all_programmes() if p.mailboxes]
    if not candidates:
        raise ConfigError("aucun programme ne déclare de boîte aux lettres (clé « mailboxes »)")
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(candidates, key=lambda p: p.deadline_at or far_past)


def open_imap(settings: MailboxSettings) -> Mailbox:
    return ImapSession(settings).open()


def backoff(failures: int) -> dt.timedelta:
    """Delay before trying a failing mailbox again: 1, 2, 4… minutes, at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(failures - 1, 0)), BACKOFF_MAX)


def batches(uids: Sequence[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (total + size > BATCH_BYTES or len(batch) >= BATCH_COUNT):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def run_cycle(
    store: Store,
    programme: Programme,
    mailboxes: Sequence[MailboxSettings | UnconfiguredMailbox],
    now: dt.datetime,
    *,
    connect: Connect = open_imap,
    checker: Checker = check_message,
    force: bool = True,
    progress: Progress | None = None,
) -> CycleReport:
    """Poll every mailbox, check what arrived, mark it; ``force`` ignores the backoff delay."""
    progress = progress or NoProgress()
    clock = running_clock(now)  # lease times: the fetching may have taken minutes
    report = CycleReport()
    sessions: list[tuple[Mailbox, MailboxReport]] = []
    try:
        for settings in mailboxes:
            if isinstance(settings, UnconfiguredMailbox):
                report.mailboxes.append(_config_failure(store, settings, now))
                continue
            box_report = MailboxReport(settings.id, settings.address)
            report.mailboxes.append(box_report)
            box = _fetch_new(store, programme, settings, box_report, now, connect, force, progress)
            if box is not None:
                sessions.append((box, box_report))
        report.checked = _check_waiting(store, programme, now, clock, checker, progress)
        for box, box_report in sessions:
            _mark_handled(store, box, box_report, now, connect)
    finally:
        for box, _ in sessions:
            box.close()
    return report


def _check_waiting(
    store: Store,
    programme: Programme,
    now: dt.datetime,
    clock: Clock,
    checker: Checker,
    progress: Progress,
) -> list[CheckOutcome]:
    """``processing.check_pending``, telling ``progress`` after each message."""
    with store.sessions.begin() as session:
        ids = pending_ids(session, programme.id)
    worker = worker_identity()
    outcomes = []
    progress.start("vérification", len(ids))
    for message_id in ids:
        outcome = check_one(
            store.sessions,
            store.archive,
            programme,
            message_id,
            now,
            checker,
            worker=worker,
            clock=clock,
        )
        if outcome is not None:
            outcomes.append(outcome)
        progress.advance()
    progress.done()
    return outcomes


def _config_failure(store: Store, box: UnconfiguredMailbox, now: dt.datetime) -> MailboxReport:
    with store.sessions.begin() as session:
        log_event(session, now, "boite_mal_configuree", box.error, account=box.address.lower())
    return MailboxReport(box.id, box.address, error=box.error)


def _fetch_new(
    store: Store,
    programme: Programme,
    settings: MailboxSettings,
    report: MailboxReport,
    now: dt.datetime,
    connect: Connect,
    force: bool,
    progress: Progress,
) -> Mailbox | None:
    with store.sessions.begin() as session:
        point = checkpoint(session, settings.account, settings.folder)
        waiting = point.next_attempt_at
    if not force and waiting is not None and now < waiting:
        report.skipped_until = waiting
        return None
    box: Mailbox | None = None
    handed_over = False
    try:
        box = connect(settings)
        state = box.folder_state()
        with store.sessions.begin() as session:
            point = checkpoint(session, settings.account, settings.folder)
            if point.uidvalidity != state.uidvalidity:
                if point.uidvalidity is not None:
                    report.uidvalidity_changed = True
                    log_event(
                        session,
                        now,
                        "uidvalidity_changee",
                        f"Boîte « {settings.id} » : UIDVALIDITY {point.uidvalidity} → "
                        f"{state.uidvalidity}, le dossier « {settings.folder} » est relu en entier.",
                        account=settings.account,
                    )
                point.uidvalidity = state.uidvalidity
                point.last_uid = 0
            last_uid = point.last_uid
        if state.uidnext is not None and state.uidnext - 1 <= last_uid:
            uids: list[int] = []  # nothing above the checkpoint: no SEARCH needed
        else:
            uids = box.uids_after(last_uid)
        sizes = box.sizes(uids) if uids else {}
        progress.start(f"boîte « {settings.id} »", len(uids))
        for batch in batches(uids, sizes):
            for mail in box.fetch(batch):
                sha = store.archive.store(mail.raw)  # on disk before anything else
                faults.checkpoint("fetching")  # no-op unless GUICHET_FAULTS is set
                facts = CopyFacts(
                    programme_id=programme.id,
                    account=settings.account,
                    folder=settings.folder,
                    uidvalidity=state.uidvalidity,
                    uid=mail.uid,
                    internal_date=mail.internal_date,
                    raw_sha256=sha,
                    size=len(mail.raw),
                    fingerprint=fingerprint(mail.raw),
                )
                outcome = _record(store, facts, now)
                if outcome == NEW:
                    report.new += 1
                elif outcome == DUPLICATE:
                    report.duplicates += 1
                elif outcome == KNOWN:
                    report.already_known += 1
                progress.advance()
        progress.done()
        with store.sessions.begin() as session:
            point = checkpoint(session, settings.account, settings.folder)
            if point.failures:
                log_event(
                    session,
                    now,
                    "boite_retablie",
                    f"Boîte « {settings.id} » de nouveau accessible.",
                    account=settings.account,
                )
            point.last_poll_at = point.last_success_at = now
            point.failures = 0
            point.last_error = point.next_attempt_at = None
        handed_over = True
        return box
    except MailboxError as e:
        _record_failure(store, settings, report, e, now)
        return None
    finally:
        if box is not None and not handed_over:
            box.close()


def _record(store: Store, facts: CopyFacts, now: dt.datetime) -> str:
    """Record one copy; a unique constraint hit means another worker recorded the same
    copy or message at the same moment: look again, in a new transaction."""
    for attempt in (1, 2):
        try:
            with store.sessions.begin() as session:
                outcome, _ = record_copy(session, facts, now)
            return outcome
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record_failure(
    store: Store,
    settings: MailboxSettings,
    report: MailboxReport,
    error: MailboxError,
    now: dt.datetime,
) -> None:
    report.error = error.message
    with store.sessions.begin() as session:
        point = checkpoint(session, settings.account, settings.folder)
        point.failures += 1
        point.last_poll_at = now
        point.last_error = error.message
        point.next_attempt_at = now + backoff(point.failures)
        log_event(
            session,
            now,
            "boite_en_erreur",
            error.message,
            account=settings.account,
            failures=point.failures,
        )


def _mark_handled(
    store: Store, box: Mailbox, report: MailboxReport, now: dt.datetime, connect: Connect
) -> None:
    """The keyword on this folder's copies of filed messages (never EXPUNGE)."""
    settings = box.settings
    with store.sessions.begin() as session:
        point = checkpoint(session, settings.account, settings.folder)
        copies = session.scalars(
            select(MailCopy)
            .join(Message, MailCopy.message_id == Message.id)
            .where(
                MailCopy.account == settings.account,
                MailCopy.folder == settings.folder,
                MailCopy.uidvalidity == point.uidvalidity,
                MailCopy.keyword_set.is_(False),
                Message.state == TRAITE,
            )
        ).all()
        uids = {c.id: c.uid for c in copies}
    if not uids:
        return
    try:
        try:
            box.add_keyword(sorted(uids.values()), KEYWORD)
        except MailboxError:
            # A long backlog of checks may outlast the server's idle timeout: log in again.
            with contextlib.closing(connect(settings)) as again:
                if again.folder_state().uidvalidity != point.uidvalidity:
                    return  # the folder changed meanwhile: the next cycle rescans it
                again.add_keyword(sorted(uids.values()), KEYWORD)
    except MailboxError as e:
        _record_failure(store, settings, report, e, now)
        return
    with store.sessions.begin() as session:
        for copy in session.scalars(select(MailCopy).where(MailCopy.id.in_(uids))):
            copy.keyword_set = True
    report.keywords += len(uids)
