"""Removing a programme's personal data once the selection is over (``guichet purge``).

Personal data is everything an applicant sent or that names them: raw mails, files and
parsed fields, applications, verdicts, decisions, mails sent (and their archived bytes,
the digests with their attached export included), and the events about them.

What stays, per mail: a tombstone (state ``purge``) holding the content hash and the
IMAP coordinates of its copies, nothing else. A copy polled again (a UIDVALIDITY change,
a mail moved back into the inbox) is then recognised and never judged or answered again.
Mailbox checkpoints stay too. The mails themselves still sit on the IMAP server: purging
them there is the mailbox owner's job.

The purge is due ``retention_days`` after the programme's results date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from config.programme import Programme
from ingest.archive import RawArchive
from triage.models import (
    PURGE,
    Application,
    ApplicationVersion,
    Attachment,
    Decision,
    Event,
    MailCopy,
    Message,
    OutboxMail,
    ParsedDossier,
    Verdict,
)

GONE = ""  # the raw file reference of a purged mail or copy


@dataclass(frozen=True)
class PurgeReport:
    messages: int
    applications: int
    outbox: int
    events: int
    files: list[str]  # archived files no longer referenced, to delete after commit


def purge_due_on(programme: Programme) -> dt.date | None:
    if programme.results_date is None:
        return None
    return programme.results_date + dt.timedelta(days=programme.retention_days)


def purge_programme(session: Session, programme: Programme) -> PurgeReport:
    """Remove ``programme``'s personal data from the store (the caller commits, then
    deletes ``files`` with ``delete_files``)."""
    message_ids = list(
        session.scalars(
            select(Message.id).where(Message.programme_id == programme.id, Message.state != PURGE)
        )
    )
    app_ids = list(
        session.scalars(select(Application.id).where(Application.programme_id == programme.id))
    )
    outbox_filter = or_(
        OutboxMail.application_id.in_(app_ids),
        OutboxMail.key.startswith(f"digest:{programme.id}:", autoescape=True),
    )
    files = set(
        session.scalars(select(Message.raw_sha256).where(Message.id.in_(message_ids)))
    ) | set(
        session.scalars(select(MailCopy.raw_sha256).where(MailCopy.message_id.in_(message_ids)))
    )
    files |= {s for s in session.scalars(select(OutboxMail.raw_sha256).where(outbox_filter)) if s}

    events = session.execute(
        delete(Event).where(
            or_(Event.message_id.in_(message_ids), Event.application_id.in_(app_ids))
        )
    ).rowcount
    outbox = session.execute(delete(OutboxMail).where(outbox_filter)).rowcount
    for model in (Attachment, ParsedDossier):
        session.execute(delete(model).where(model.message_id.in_(message_ids)))
    session.execute(
        delete(Verdict).where(
            or_(Verdict.message_id.in_(message_ids), Verdict.application_id.in_(app_ids))
        )
    )
    session.execute(delete(Decision).where(Decision.application_id.in_(app_ids)))
    session.execute(
        delete(ApplicationVersion).where(ApplicationVersion.application_id.in_(app_ids))
    )
    session.execute(
        update(Message)
        .where(Message.id.in_(message_ids))
        .values(
            state=PURGE, rfc_message_id=None, raw_sha256=GONE, sender=None, subject=None,
            date_header=None, in_reply_to=None, references=[], reason=None, status=None,
            structure=None, reply_to=None, role=None, application_id=None,
            claimed_by=None, claimed_until=None,
        )
    )  # fmt: skip
    session.execute(
        update(MailCopy).where(MailCopy.message_id.in_(message_ids)).values(raw_sha256=GONE)
    )
    applications = session.execute(delete(Application).where(Application.id.in_(app_ids))).rowcount
    session.flush()
    still_used = (
        set(session.scalars(select(Message.raw_sha256)))
        | set(session.scalars(select(MailCopy.raw_sha256)))
        | set(session.scalars(select(OutboxMail.raw_sha256)))
    )
    return PurgeReport(
        messages=len(message_ids),
        applications=applications,
        outbox=outbox,
        events=events,
        files=sorted(f for f in files - still_used if f),
    )


def delete_files(archive: RawArchive, files: list[str]) -> int:
    """Delete archived files (after the purge is committed); returns how many were there."""
    removed = 0
    for sha in files:
        path = archive.path_of(sha)
        if path.exists():
            path.unlink()
            removed += 1
    return removed
