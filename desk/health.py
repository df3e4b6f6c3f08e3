"""The worker's health as the desk shows it: the last cycle per mailbox (from
``mailbox_checkpoints``), mails in error, the outbox waiting or failed, and the worker's
heartbeat. Functions take a ``Session`` and never commit."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config.programme import Programme
from guichet.errors import ConfigError
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
    """The worker's heartbeat (``ingest.health``, written after each cycle): alive while a
    cycle succeeded within the alert's delay (``GUICHET_ALERT_WORKER_MINUTES``, as
    ``guichet doctor --alert`` judges it); None when the worker never ran."""
    from ingest.health import CYCLES, AlertSettings, heartbeats, log_reason

    cycles = next((r for r in heartbeats(session, programme.id) if r.subject == CYCLES), None)
    if cycles is None:
        return None
    try:
        after = AlertSettings.from_env(os.environ).worker_after
    except ConfigError:
        after = AlertSettings().worker_after
    success = cycles.last_success_at
    alive = success is not None and now - success < after
    if cycles.failing_since is not None and cycles.last_error:
        detail = f"en erreur depuis le {cycles.failing_since:%d/%m/%Y %H:%M} UTC : " + log_reason(
            cycles.last_error
        )
    elif success is not None:
        detail = f"dernier relevé réussi le {success:%d/%m/%Y %H:%M} UTC"
    else:
        detail = "aucun relevé réussi"
    return Heartbeat(cycles.last_cycle_at, one_line(detail), alive)


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
