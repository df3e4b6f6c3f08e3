"""Recording what a mailbox gave us: copies, messages (deduplicated), checkpoints, events.

A copy is keyed on (account, folder, UIDVALIDITY, UID): recording it twice is a no-op.
Its message is the one already known with the same content hash, or with the same
Message-ID, sender and Date (a relay that re-encoded the body); else a new message in
state ``recu``. The checkpoint moves in the same transaction as the copy, so a crash
between two mails loses nothing and repeats nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.fingerprint import Fingerprint
from triage.models import (
    OWN_MAIL,
    PURGE,
    RECU,
    TRAITE,
    Event,
    MailboxCheckpoint,
    MailCopy,
    Message,
    OutboxMail,
)


@dataclass(frozen=True)
class CopyFacts:
    programme_id: str  # the programme whose mailbox it came from
    account: str  # the mailbox's address
    folder: str
    uidvalidity: int
    uid: int
    internal_date: dt.datetime
    raw_sha256: str
    size: int
    fingerprint: Fingerprint


NEW, DUPLICATE, KNOWN = "nouveau", "doublon", "deja_vu"


def log_event(
    session: Session,
    now: dt.datetime,
    kind: str,
    detail: str,
    *,
    account: str | None = None,
    message: Message | None = None,
    application_id: int | None = None,
    **data: Any,
) -> Event:
    event = Event(
        at=now,
        kind=kind,
        account=account,
        message_id=message.id if message is not None else None,
        application_id=application_id,
        detail=detail,
        data=data,
    )
    session.add(event)
    return event


def checkpoint(session: Session, account: str, folder: str) -> MailboxCheckpoint:
    found = session.scalars(
        select(MailboxCheckpoint).where(
            MailboxCheckpoint.account == account, MailboxCheckpoint.folder == folder
        )
    ).one_or_none()
    if found is None:
        try:
            with session.begin_nested():  # another worker may create it at the same moment
                found = MailboxCheckpoint(account=account, folder=folder, last_uid=0, failures=0)
                session.add(found)
        except IntegrityError:
            return checkpoint(session, account, folder)
    return found


def find_same_message(session: Session, fp: Fingerprint) -> Message | None:
    by_content = session.scalars(
        select(Message).where(Message.content_hash == fp.content_hash).order_by(Message.id)
    ).first()
    if by_content is not None or fp.rfc_message_id is None:
        return by_content
    candidates = session.scalars(
        select(Message).where(Message.rfc_message_id == fp.rfc_message_id).order_by(Message.id)
    ).all()
    for candidate in candidates:
        if candidate.sender == fp.sender and candidate.date_header == fp.date:
            return candidate
    return None


def _sent_by_us(session: Session, rfc_message_id: str | None) -> bool:
    if not rfc_message_id:
        return False
    found = select(OutboxMail.id).where(OutboxMail.rfc_message_id == rfc_message_id)
    return session.scalars(found).first() is not None


def record_copy(session: Session, facts: CopyFacts, now: dt.datetime) -> tuple[str, Message]:
    """Record one fetched copy (its raw already archived); returns (NEW|DUPLICATE|KNOWN, message)."""
    existing = session.scalars(
        select(MailCopy).where(
            MailCopy.account == facts.account,
            MailCopy.folder == facts.folder,
            MailCopy.uidvalidity == facts.uidvalidity,
            MailCopy.uid == facts.uid,
        )
    ).one_or_none()
    if existing is not None:
        return KNOWN, existing.message

    fp = facts.fingerprint
    message = find_same_message(session, fp)
    outcome = DUPLICATE
    if message is None:
        outcome = NEW
        message = Message(
            rfc_message_id=fp.rfc_message_id,
            content_hash=fp.content_hash,
            raw_sha256=facts.raw_sha256,
            size=facts.size,
            sender=fp.sender,
            subject=fp.subject,
            date_header=fp.date,
            in_reply_to=fp.in_reply_to,
            references=list(fp.references),
            received_at=facts.internal_date,
            programme_id=facts.programme_id,
            state=RECU,
            attempts=0,
            created_at=now,
        )
        session.add(message)
        session.flush()
        if _sent_by_us(session, fp.rfc_message_id):
            # A mail guichet sent (a digest to a polled address, a copy sent back): filed
            # as ours at once, never checked, counted or answered.
            message.state, message.status, message.checked_at = TRAITE, OWN_MAIL, now
        log_event(
            session,
            now,
            "courriel_recu",
            f"Courriel reçu dans « {facts.account} » : {fp.subject or '(sans objet)'}",
            account=facts.account,
            message=message,
            uid=facts.uid,
        )
    elif facts.internal_date < message.received_at and message.state != PURGE:
        # An earlier copy decides when we received it (the deadline): judge it again.
        message.received_at = facts.internal_date
        message.state = RECU
        log_event(
            session,
            now,
            "reception_avancee",
            f"Copie plus ancienne dans « {facts.account} » : heure de réception corrigée.",
            account=facts.account,
            message=message,
        )
    session.add(
        MailCopy(
            message_id=message.id,
            account=facts.account,
            folder=facts.folder,
            uidvalidity=facts.uidvalidity,
            uid=facts.uid,
            internal_date=facts.internal_date,
            raw_sha256=facts.raw_sha256,
            size=facts.size,
            keyword_set=False,
            seen_at=now,
        )
    )
    point = checkpoint(session, facts.account, facts.folder)
    if point.uidvalidity == facts.uidvalidity and facts.uid > point.last_uid:
        point.last_uid = facts.uid
    session.flush()
    return outcome, message
