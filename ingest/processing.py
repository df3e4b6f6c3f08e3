"""Checking stored mails: every message in state ``recu`` is read from the archive, judged
(``triage.check.check_message`` with its receipt time) and filed (``triage.filing``).

The check runs outside any transaction; its result is filed in one, after making sure
the message still waits (another worker, or a copy with an earlier receipt time, may
have changed it). A check that fails parks the message in ``erreur`` with its reason;
``reprocess`` puts messages back in ``recu`` and checks them again, without touching
any mailbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from config.programme import Programme
from guichet.errors import GuichetError
from ingest.archive import ArchiveError, RawArchive
from ingest.intake import log_event
from triage.check import CheckResult, check_message
from triage.filing import file_result
from triage.models import ERREUR, RECU, TRAITE, Message

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]


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
) -> list[CheckOutcome]:
    """Check and file the waiting messages, oldest first."""
    with sessions.begin() as session:
        ids = pending_ids(session, programme.id, limit)
    return [
        outcome
        for i in ids
        if (outcome := check_one(sessions, archive, programme, i, now, checker))
    ]


@dataclass(frozen=True)
class _Waiting:
    """A message waiting for its check, as read before the check."""

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
) -> CheckOutcome | None:
    with sessions.begin() as session:
        message = session.get(Message, message_id)
        if message is None or message.state != RECU:
            return None
        waiting = _Waiting(
            message.id, message.raw_sha256, message.received_at, message.subject, message.status
        )
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

    for attempt in (1, 2):
        try:
            return _file(sessions, programme, waiting, result, error, now)
        except IntegrityError:
            # Another worker created the same application at the same moment: file
            # again, it exists now.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _file(
    sessions: sessionmaker[Session],
    programme: Programme,
    waiting: _Waiting,
    result: CheckResult | None,
    error: str | None,
    now: dt.datetime,
) -> CheckOutcome | None:
    with sessions.begin() as session:
        # FOR UPDATE (PostgreSQL): a second worker filing the same mail waits, then skips it.
        message = session.get(Message, waiting.id, with_for_update=True)
        if message is None or message.state != RECU or message.received_at != waiting.received:
            return None  # changed meanwhile: whoever changed it will check it again
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
            .values(state=RECU)
        ).rowcount
        log_event(
            session,
            now,
            "reverification",
            f"{count} courriel(s) à vérifier à nouveau",
            only_errors=only_errors,
        )
    return check_pending(sessions, archive, programme, now, checker)
