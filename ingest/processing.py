"""Checking stored mails: every message in state ``recu`` is read from the archive, judged
(``triage.check.check_message`` with its receipt time) and filed (``triage.filing``).

Several workers may share one database, so each message goes through three steps:

1. claim it, in a short transaction of its own: one conditional UPDATE gives it a lease
   (``claimed_by`` = this worker, ``claimed_until`` = now + ``LEASE``) unless another
   worker holds a live one, in which case it is left alone for now;
2. check it, outside any transaction (up to minutes for a hostile PDF);
3. file the result in one transaction that first releases the claim, and files only if
   the claim was still ours and the message still waits as it was read (a copy with an
   earlier receipt time, or ``reprocess``, may have changed it). The row stays locked
   (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) until the filing commits.

A lease that runs out (a crashed worker, a check longer than ``LEASE``) may be taken
over by another worker; only the current holder files, so a mail is filed once even
then, and a dead worker's mail waits at most ``LEASE``. A check that fails parks the
message in ``erreur`` with its reason; ``reprocess`` puts messages back in ``recu``,
claims cleared, and checks them again, without touching any mailbox.

Lease times come from a clock that starts at the cycle's ``now`` and moves on with the
monotonic clock (``running_clock``): the last mail of a long backlog gets a lease from
when it is claimed, not from when the cycle began. What is recorded (``checked_at``,
events) keeps the cycle's ``now``. Workers on several machines compare each other's
lease times: their clocks must agree to well within ``LEASE`` (NTP).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from config.programme import Programme
from guichet.errors import GuichetError
from ingest import faults
from ingest.archive import ArchiveError, RawArchive
from ingest.intake import log_event
from triage.check import CheckResult, check_message
from triage.filing import file_result
from triage.models import ERREUR, RECU, TRAITE, Message

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]
Clock = Callable[[], dt.datetime]

# How long a claim keeps other workers off a message. Longer than the slowest check:
# a PDF dossier is read in at most 60 s (parsers.pdf_reader.DEFAULT_LIMITS), each PDF
# annex's first page in 15 s, a .doc/.odt conversion in 120 s; a dozen annexes stay
# well under it. A check that outlasts it may be done twice, never filed twice.
LEASE = dt.timedelta(minutes=10)


def running_clock(now: dt.datetime, monotonic: Callable[[], float] = time.monotonic) -> Clock:
    """``now``, moving on with the monotonic clock from the moment of this call."""
    started = monotonic()
    return lambda: now + dt.timedelta(seconds=monotonic() - started)


_identity: tuple[int, str] | None = None


def worker_identity() -> str:
    """This process as a claimant: host, pid and a random suffix (a pid is reused after
    a restart; the suffix tells the new process from the dead one). Made once per
    process; a forked child makes its own."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        host = socket.gethostname()[:40] or "localhost"
        _identity = (pid, f"{host}:{pid}:{secrets.token_hex(4)}")
    return _identity[1]


@dataclass(frozen=True)
class CheckOutcome:
    message_id: int
    subject: str | None
    status: str | None  # None when the check failed
    previous_status: str | None
    application_id: int | None
    error: str | None = None


def pending_ids(session: Session, programme_id: str, limit: int | None = None) -> list[int]:
    query = (
        select(Message.id)
        .where(Message.state == RECU, Message.programme_id == programme_id)
        .order_by(Message.received_at, Message.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def check_pending(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    programme: Programme,
    now: dt.datetime,
    checker: Checker = check_message,
    limit: int | None = None,
    *,
    worker: str | None = None,
    clock: Clock | None = None,
) -> list[CheckOutcome]:
    """Check and file the waiting messages, oldest first; those another worker holds
    are left for later. ``worker`` defaults to ``worker_identity()``, ``clock`` (lease
    times) to ``running_clock(now)``."""
    worker = worker or worker_identity()
    clock = clock or running_clock(now)
    with sessions.begin() as session:
        ids = pending_ids(session, programme.id, limit)
    return [
        outcome
        for i in ids
        if (
            outcome := check_one(
                sessions, archive, programme, i, now, checker, worker=worker, clock=clock
            )
        )
    ]


@dataclass(frozen=True)
class _Waiting:
    """A message waiting for its check, as read when it was claimed."""

    id: int
    raw_sha256: str
    received: dt.datetime
    subject: str | None
    status: str | None  # its previous verdict, if any


def check_one(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    programme: Programme,
    message_id: int,
    now: dt.datetime,
    checker: Checker = check_message,
    *,
    worker: str | None = None,
    clock: Clock | None = None,
) -> CheckOutcome | None:
    """Claim, check and file one message; None when it no longer waits, another worker
    holds it, or it changed during the check (then it waits for the next pass)."""
    worker = worker or worker_identity()
    waiting = _claim(sessions, message_id, worker, (clock or running_clock(now))())
    if waiting is None:
        return None
    try:
        error: str | None = None
        result: CheckResult | None = None
        try:
            result = checker(archive.read(waiting.raw_sha256), waiting.received, programme.id)
        except ArchiveError as e:
            error = str(e)
        except GuichetError as e:
            error = e.message
        except Exception as e:  # noqa: BLE001 - one bad mail must not stop the others
            error = f"erreur inattendue ({type(e).__name__}: {e})"[:2000]
        faults.checkpoint("checking")  # no-op unless GUICHET_FAULTS is set

        for attempt in (1, 2):
            try:
                return _file(sessions, programme, waiting, result, error, now, worker)
            except IntegrityError:
                # Another worker created the same application at the same moment: file
                # again, it exists now.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
    except BaseException:
        # Interrupted (Ctrl-C, a database failure while filing): let another worker, or
        # the next pass, have it at once rather than when the lease runs out.
        with contextlib.suppress(Exception):
            _release(sessions, message_id, worker)
        raise


def _claim(
    sessions: sessionmaker[Session], message_id: int, worker: str, at: dt.datetime
) -> _Waiting | None:
    """The message, if it waits and no other worker holds a live claim: now ours."""
    with sessions.begin() as session:
        # One conditional UPDATE (a row lock on PostgreSQL, the write lock on SQLite):
        # of two workers claiming at once, the second finds the first's live lease.
        claimed = session.execute(
            update(Message)
            .where(
                Message.id == message_id,
                Message.state == RECU,
                or_(Message.claimed_until.is_(None), Message.claimed_until < at),
            )
            .values(claimed_by=worker, claimed_until=at + LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        message = session.get(Message, message_id)
        if message is None:
            return None
        return _Waiting(
            message.id, message.raw_sha256, message.received_at, message.subject, message.status
        )


def _release(sessions: sessionmaker[Session], message_id: int, worker: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def _file(
    sessions: sessionmaker[Session],
    programme: Programme,
    waiting: _Waiting,
    result: CheckResult | None,
    error: str | None,
    now: dt.datetime,
    worker: str,
) -> CheckOutcome | None:
    with sessions.begin() as session:
        # Release our claim first: a write, so the transaction holds the row (PostgreSQL)
        # or the database (SQLite) from its first statement. No row: our lease ran out
        # and another worker took the message over; it files it, not us.
        released = session.execute(
            update(Message)
            .where(Message.id == waiting.id, Message.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if released != 1:
            return None
        # FOR UPDATE (PostgreSQL) as well, in case a writer ever skips the claim.
        message = session.get(Message, waiting.id, with_for_update=True)
        if message is None or message.state != RECU or message.received_at != waiting.received:
            return None  # changed meanwhile (claim released): the next pass checks it again
        if result is None:
            message.state = ERREUR
            message.reason = error
            message.attempts += 1
            message.checked_at = now
            log_event(
                session,
                now,
                "courriel_en_erreur",
                f"Courriel non vérifié ({waiting.subject or 'sans objet'}) : {error}",
                message=message,
            )
            return CheckOutcome(
                waiting.id, waiting.subject, None, waiting.status, message.application_id, error
            )
        application = file_result(session, message, result, programme, now)
        faults.checkpoint("filing")  # no-op unless GUICHET_FAULTS is set (transaction open)
        return CheckOutcome(
            waiting.id,
            waiting.subject,
            message.status,
            waiting.status,
            application.id if application is not None else None,
        )


def reprocess(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    programme: Programme,
    now: dt.datetime,
    only_errors: bool = False,
    checker: Checker = check_message,
) -> list[CheckOutcome]:
    """Check stored messages again (all, or only those in error); mailboxes untouched."""
    states: Sequence[str] = (ERREUR,) if only_errors else (TRAITE, ERREUR)
    with sessions.begin() as session:
        count = session.execute(
            update(Message)
            .where(Message.state.in_(states), Message.programme_id == programme.id)
            .values(state=RECU, claimed_by=None, claimed_until=None)
        ).rowcount
        log_event(
            session,
            now,
            "reverification",
            f"{count} courriel(s) à vérifier à nouveau",
            only_errors=only_errors,
        )
    return check_pending(sessions, archive, programme, now, checker)
