"""The worker's health as the desk shows it: the last cycle per mailbox (from
``mailbox_checkpoints``), mails in error, the outbox waiting or failed, and the worker's
heartbeat. Functions take a ``Session`` and never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config.programme import Programme
from notifications.wording import one_line
from triage.models import (
    ERREUR,
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    OUTBOX_SENDING,
    MailboxCheckpoint,
    Message,
    OutboxMail,
)
from triage.review import DESK_REASONS

STALE_AFTER = dt.timedelta(hours=1)  # as the digest: no successful poll for this long


@dataclass(frozen=True)
class MailboxLine:
    mailbox: str
    address: str
    folder: str | None
    last_poll: dt.datetime | None
    last_success: dt.datetime | None
    failures: int
    last_error: str | None
    failing: bool


@dataclass(frozen=True)
class Heartbeat:
    """The worker's last sign of life (issue #12)."""

    at: dt.datetime
    detail: str
    alive: bool


@dataclass(frozen=True)
class Health:
    mailboxes: tuple[MailboxLine, ...]
    errors: tuple[tuple[int, str, str], ...]  # (message id, subject, reason) of mails in error
    waiting: int  # outbox: recorded or being sent
    failed: tuple[tuple[str, str, str], ...]  # (kind, recipient, reason) abandoned
    heartbeat: Heartbeat | None  # None: not known (see ``worker_heartbeat``)


def worker_heartbeat(session: Session, programme: Programme, now: dt.datetime) -> Heartbeat | None:
    """HOOK for issue #12: the worker's heartbeat (migration 0005) is read here once it
    exists; until then the desk says it is not known and shows the polls instead."""
    return None


def worker_health(session: Session, programme: Programme, now: dt.datetime) -> Health:
    lines = []
    for spec in programme.mailboxes:
        address = spec.address.strip().lower()
        points = session.scalars(
            select(MailboxCheckpoint)
            .where(MailboxCheckpoint.account.in_((address, spec.id)))
            .order_by(MailboxCheckpoint.folder)
        ).all()
        if not points:
            lines.append(
                MailboxLine(spec.id, spec.address, None, None, None, 0, "jamais relevée", True)
            )
        for p in points:
            success = p.last_success_at
            lines.append(
                MailboxLine(
                    mailbox=spec.id,
                    address=spec.address,
                    folder=p.folder,
                    last_poll=p.last_poll_at,
                    last_success=success,
                    failures=p.failures,
                    last_error=one_line(p.last_error, 200) or None,
                    failing=p.failures > 0 or success is None or now - success > STALE_AFTER,
                )
            )
    errors = tuple(
        (m.id, one_line(m.subject, 100) or "(sans objet)", one_line(m.reason, 200))
        for m in session.scalars(
            select(Message)
            .where(Message.programme_id == programme.id, Message.state == ERREUR)
            .order_by(Message.received_at)
            .limit(50)
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(OutboxMail)
        .where(OutboxMail.state.in_((OUTBOX_RECORDED, OUTBOX_SENDING)))
    )
    failed = tuple(
        (o.kind, o.recipient, one_line(o.last_error, 200))
        for o in session.scalars(
            select(OutboxMail)
            .where(
                OutboxMail.state == OUTBOX_ABANDONED,
                or_(OutboxMail.last_error.is_(None), OutboxMail.last_error.not_in(DESK_REASONS)),
            )
            .order_by(OutboxMail.created_at.desc())
            .limit(50)
        )
    )
    return Health(
        mailboxes=tuple(lines),
        errors=errors,
        waiting=int(waiting or 0),
        failed=failed,
        heartbeat=worker_heartbeat(session, programme, now),
    )
