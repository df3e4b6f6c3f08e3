"""Sending what the outbox holds: claim, send, mark (``notifications.outbox`` records).

    claim      one transaction turns ``enregistre`` into ``envoi`` (a conditional UPDATE:
               of two workers, one wins); attempts + 1
    send       the archived bytes go to SMTP: the same bytes and Message-ID on every try
    mark       ``envoye`` with the time; or back to ``enregistre`` with a growing delay
               when the server is down (4xx, unreachable, our settings refused), and
               ``abandonne`` when it refuses the address or the mail for good (5xx)

A crash between record and claim, or claim and send, leaves a row the next run sends. A
crash between send and mark leaves a row in ``envoi``: after ``SENDING_LEASE`` (longer
than any SMTP attempt, so never while another worker is still sending) it is sent
again with the same Message-ID and flagged ``uncertain``; the digest lists it as a
possible double. SMTP offers no way to ask whether a mail went through, so this window
(between the server's 250 and our commit) cannot be closed, only made visible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from ingest import faults
from ingest.archive import RawArchive
from ingest.intake import log_event
from notifications.smtp import Sender, SendFailed
from triage.models import OUTBOX_ABANDONED, OUTBOX_RECORDED, OUTBOX_SENDING, OUTBOX_SENT, OutboxMail

SENDING_LEASE = dt.timedelta(minutes=10)
# A follow-up or reminder that could not leave within a day (SMTP down) is dropped: sent
# later it would chase a deadline that moved on (the digest lists it as abandoned).
CHASER_SHELF_LIFE = dt.timedelta(days=1)
CHASERS = ("relance", "rappel")
RETRY_MAX = dt.timedelta(hours=1)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4… minutes after each failed attempt, at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_MAX)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    expired: int = 0  # follow-ups and reminders dropped, too late to send
    errors: list[str] = field(default_factory=list)


def _waiting(now: dt.datetime) -> ColumnElement[bool]:
    """Recorded and due (first try, or its retry time has come)."""
    return and_(
        OutboxMail.state == OUTBOX_RECORDED,
        or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
    )


def _stalled(now: dt.datetime) -> ColumnElement[bool]:
    """Handed to SMTP by a worker that never said how it went, its lease over."""
    return and_(OutboxMail.state == OUTBOX_SENDING, OutboxMail.sending_at < now - SENDING_LEASE)


def due_ids(session: Session, now: dt.datetime, kinds: Iterable[str] | None = None) -> list[int]:
    query = select(OutboxMail.id).where(or_(_waiting(now), _stalled(now))).order_by(OutboxMail.id)
    if kinds is not None:
        query = query.where(OutboxMail.kind.in_(list(kinds)))
    return list(session.scalars(query))


# Test seam: called between the steps of a delivery with the step's name ("claimed",
# "sent"); the fault-injection tests kill the process there (SIGKILL).
Step = Callable[[str, int], None]


def _no_step(step: str, outbox_id: int) -> None:
    faults.checkpoint(f"sending.{step}")  # no-op unless GUICHET_FAULTS is set (ingest.faults)


def deliver(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    sender: Sender,
    envelope_from: str,
    now: dt.datetime,
    *,
    kinds: Iterable[str] | None = None,
    step: Step = _no_step,
) -> DeliveryReport:
    """Send every due mail, oldest first, from ``envelope_from`` (the programme's sending
    address); stops at the first sign the server is down."""
    report = DeliveryReport()
    with sessions.begin() as session:
        report.expired = _drop_stale_chasers(session, now)
        ids = due_ids(session, now, kinds)
    for outbox_id in ids:
        claimed = _claim(sessions, outbox_id, now)
        if claimed is None:
            continue
        recipient, sha, was_uncertain = claimed
        if was_uncertain:
            report.uncertain.append(outbox_id)
        step("claimed", outbox_id)
        try:
            sender.send(envelope_from, [recipient], archive.read(sha))
        except SendFailed as e:
            _failed(sessions, outbox_id, e, now, report)
            if e.temporary:
                break  # the server is down or busy: the others wait for the next run
            continue
        step("sent", outbox_id)
        with sessions.begin() as session:
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == outbox_id)
                .values(state=OUTBOX_SENT, sent_at=now, last_error=None, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            )
            row = session.get(OutboxMail, outbox_id)
            log_event(
                session,
                now,
                "courriel_envoye",
                f"Courriel « {row.kind} » envoyé : {row.subject}",
                application_id=row.application_id,
                outbox_id=row.id,
            )
        report.sent.append(outbox_id)
    return report


def _drop_stale_chasers(session: Session, now: dt.datetime) -> int:
    dropped = session.execute(  # a write first (see _claim)
        update(OutboxMail)
        .where(
            OutboxMail.state == OUTBOX_RECORDED,
            OutboxMail.kind.in_(CHASERS),
            OutboxMail.created_at < now - CHASER_SHELF_LIFE,
        )
        .values(state=OUTBOX_ABANDONED, last_error="périmé : pas envoyé dans la journée")
        .execution_options(synchronize_session=False)
    ).rowcount
    if dropped:
        log_event(
            session,
            now,
            "envoi_abandonne",
            f"{dropped} relance(s) ou rappel(s) non envoyé(s) dans la journée : abandonné(s).",
        )
    return dropped


def _claim(
    sessions: sessionmaker[Session], outbox_id: int, now: dt.datetime
) -> tuple[str, str, bool] | None:
    """Take the mail for this worker: (recipient, archived bytes, sent before?) or None.

    Each step writes before it reads: on SQLite a transaction that read first cannot
    write once another process wrote meanwhile."""
    claimed = {
        "state": OUTBOX_SENDING,
        "sending_at": now,
        "attempts": OutboxMail.attempts + 1,
    }
    with sessions.begin() as session:
        # An attempt whose outcome is unknown (a crash after SMTP), its lease over: again.
        again = session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == outbox_id, _stalled(now))
            .values(uncertain=True, **claimed)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not again:
            fresh = session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == outbox_id, _waiting(now))
                .values(**claimed)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not fresh:
                return None  # another worker has it, or it is not due
        row = session.get(OutboxMail, outbox_id)
        if again:
            log_event(
                session,
                now,
                "envoi_incertain",
                f"Courriel « {row.kind} » ({row.subject}) : l’envoi précédent a été interrompu "
                "sans confirmation ; renvoyé avec le même identifiant, doublon possible.",
                application_id=row.application_id,
                outbox_id=row.id,
            )
        return row.recipient, row.raw_sha256 or "", bool(again)


def _failed(
    sessions: sessionmaker[Session],
    outbox_id: int,
    error: SendFailed,
    now: dt.datetime,
    report: DeliveryReport,
) -> None:
    with sessions.begin() as session:
        session.execute(  # written first (see _claim), completed below
            update(OutboxMail)
            .where(OutboxMail.id == outbox_id)
            .values(last_error=error.message)
            .execution_options(synchronize_session=False)
        )
        row = session.get(OutboxMail, outbox_id)
        if error.temporary:
            row.state = OUTBOX_RECORDED
            row.next_attempt_at = now + retry_delay(row.attempts)
            report.postponed.append(outbox_id)
            kind, detail = "envoi_reporte", f"nouvel essai à {row.next_attempt_at:%H:%M} UTC"
        else:
            row.state = OUTBOX_ABANDONED
            report.abandoned.append(outbox_id)
            kind, detail = "envoi_abandonne", "abandonné"
        report.errors.append(error.message)
        log_event(
            session,
            now,
            kind,
            f"Courriel « {row.kind} » ({row.subject}) : {error.message} ; {detail}.",
            application_id=row.application_id,
            outbox_id=row.id,
        )
