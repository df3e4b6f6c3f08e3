"""The outbox: every mail guichet sends is recorded before anything else.

    record     the mail is rendered, its bytes archived (0600) and a row added with a key
               unique to its event (``accuse:12:345``) and a Message-ID chosen now; a
               second recording of the same key is refused by the database
    send       ``notifications.delivery``: claimed by one worker, handed to SMTP, marked
    copy       ``notifications.sent_folder``: once in the sending mailbox's Sent folder

``plan_and_record`` records what ``notifications.plan`` says applicants are due, within
the daily cap and never to robots or our own addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from config.programme import Programme
from guichet.errors import DeliveryError
from ingest import faults
from ingest.archive import RawArchive
from ingest.intake import log_event
from notifications.compose import (
    AUTO_GENERATED,
    AUTO_REPLIED,
    Rendered,
    bare_address,
    build_mail,
    new_message_id,
    render,
)
from notifications.letters import applicant_context
from notifications.plan import (
    ANSWERS,
    DIGEST,
    RESULTAT,
    ApplicationFacts,
    Due,
    MailFacts,
    covered_by,
    due_mails,
)
from triage.decisions import display_structure
from triage.filing import CANDIDATURE
from triage.models import (
    OUTBOX_RECORDED,
    TRAITE,
    Application,
    Event,
    Message,
    OutboxMail,
)

UNCAPPED = (RESULTAT, DIGEST)
# Addresses never written to: our own, and robots (their mails never make applications,
# but a reply address can still point at one).
_ROBOTS = ("noreply", "no-reply", "no_reply", "donotreply", "mailer-daemon", "postmaster")

log = logging.getLogger("guichet.outbox")


def sender_name(programme: Programme) -> str:
    return f"{programme.organisation} – {programme.name}"


def writable(address: str | None, programme: Programme) -> bool:
    """Whether guichet may write to ``address``: a plain addr-spec (``compose.bare_address``:
    a reply address with quotes, controls or « =? » never gets a mail), not ours, no robot."""
    if not address or bare_address(address) is None:
        return False
    local = address.split("@", 1)[0].lower()
    own = {m.address.lower() for m in programme.mailboxes}
    return address.lower() not in own and not any(local.startswith(r) for r in _ROBOTS)


# --- recording ---------------------------------------------------------------------------


def application_facts(app: Application, rows: Iterable[OutboxMail]) -> ApplicationFacts:
    mails = tuple(
        MailFacts(m.id, m.received_at)
        for m in sorted(app.messages, key=lambda m: (m.received_at, m.id))
        if m.state == TRAITE and m.role is not None
    )
    rows = list(rows)
    answered = [r.in_reply_to_id for r in rows if r.kind in ANSWERS and r.in_reply_to_id]
    written = [r.created_at for r in rows if r.kind != DIGEST]
    return ApplicationFacts(
        id=app.id,
        status=app.status,
        mails=mails,
        covered=covered_by(mails, answered),
        keys=frozenset(r.key for r in rows),
        last_written_at=max(written) if written else None,
    )


def _local_midnight(now: dt.datetime, programme: Programme) -> dt.datetime:
    return now.astimezone(programme.zone).replace(hour=0, minute=0, second=0, microsecond=0)


def sent_today(session: Session, recipient: str, programme: Programme, now: dt.datetime) -> int:
    """Mails recorded for ``recipient`` since local midnight, results and digests aside."""
    midnight = _local_midnight(now, programme)
    return session.scalar(
        select(func.count())
        .select_from(OutboxMail)
        .where(
            OutboxMail.recipient == recipient,
            OutboxMail.created_at >= midnight,
            OutboxMail.kind.not_in(UNCAPPED),
        )
    )


def plan_and_record(
    session: Session, archive: RawArchive, programme: Programme, now: dt.datetime
) -> list[OutboxMail]:
    """Record every mail due to applicants of ``programme`` at ``now`` (not sent yet)."""
    apps = session.scalars(
        select(Application)
        .where(Application.programme_id == programme.id, Application.status.in_(CANDIDATURE))
        .options(selectinload(Application.messages))  # one query, not one per application
        .order_by(Application.id)
    ).all()
    rows_by_app: dict[int, list[OutboxMail]] = {}
    for row in session.scalars(
        select(OutboxMail).where(OutboxMail.application_id.in_([a.id for a in apps]))
    ):
        rows_by_app.setdefault(row.application_id or 0, []).append(row)
    recorded = []
    for app in apps:
        for due in due_mails(application_facts(app, rows_by_app.get(app.id, [])), programme, now):
            row = record_for_application(session, archive, programme, app, due, now)
            if row is not None:
                recorded.append(row)
    return recorded


def record_for_application(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    app: Application,
    due: Due,
    now: dt.datetime,
    decision: str | None = None,
) -> OutboxMail | None:
    """Render and record one mail to ``app``'s reply address; None when it must not go
    (no usable address, the day's cap reached, already recorded)."""
    recipient = (app.reply_to or "").strip().lower()
    if not writable(recipient, programme):
        return None
    cap = programme.notifications.daily_cap
    if due.kind not in UNCAPPED and sent_today(session, recipient, programme, now) >= cap:
        _note_cap(session, app, recipient, now, programme)
        return None
    answered = session.get(Message, due.answers) if due.answers else None
    context = applicant_context(app, programme, now, answered, decision)
    rendered = render(due.kind, context)
    version = app.current_version
    return record(
        session,
        archive,
        programme,
        key=due.key,
        kind=due.kind,
        recipient=recipient,
        rendered=rendered,
        now=now,
        application_id=app.id,
        version_id=version.id if version is not None else None,
        answered=answered,
    )


def _note_cap(
    session: Session, app: Application, recipient: str, now: dt.datetime, programme: Programme
) -> None:
    """An event for the coordinators, once per application and day (not every cycle)."""
    midnight = _local_midnight(now, programme)
    noted = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(
            Event.kind == "plafond_atteint",
            Event.application_id == app.id,
            Event.at >= midnight,
        )
    )
    if noted:
        return
    log_event(
        session,
        now,
        "plafond_atteint",
        f"{display_structure(app)} : {programme.notifications.daily_cap} courriels "
        "déjà envoyés aujourd’hui à cette adresse, le suivant part demain.",
        application_id=app.id,
    )


def record(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    *,
    key: str,
    kind: str,
    recipient: str,
    rendered: Rendered,
    now: dt.datetime,
    application_id: int | None = None,
    version_id: int | None = None,
    answered: Message | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    copy_to_sent: bool = True,
) -> OutboxMail | None:
    """Archive the mail's bytes and add its row; None when ``key`` is already recorded."""
    if session.scalar(select(OutboxMail.id).where(OutboxMail.key == key)) is not None:
        return None
    mailbox = programme.sender_mailbox
    if mailbox is None:
        raise DeliveryError(f"programme {programme.id} : aucune boîte d’envoi (clé « mailboxes »)")
    message_id = new_message_id(mailbox.address)
    raw = build_mail(
        rendered,
        sender_name=sender_name(programme),
        sender=mailbox.address,
        recipient=recipient,
        message_id=message_id,
        date=now,
        in_reply_to=answered.rfc_message_id if answered is not None else None,
        references=list(answered.references or []) if answered is not None else [],
        auto_submitted=AUTO_GENERATED if kind == DIGEST else AUTO_REPLIED,
        attachments=attachments,
    )
    row = OutboxMail(
        key=key,
        kind=kind,
        application_id=application_id,
        version_id=version_id,
        in_reply_to_id=answered.id if answered is not None else None,
        recipient=recipient,
        subject=rendered.subject,
        rfc_message_id=message_id,
        raw_sha256=archive.store(raw),
        mailbox_id=mailbox.id if copy_to_sent else None,
        state=OUTBOX_RECORDED,
        attempts=0,
        uncertain=False,
        copy_attempts=0,
        created_at=now,
    )
    try:
        with session.begin_nested():  # another worker may record the same key right now
            session.add(row)
    except IntegrityError:
        return None
    log_event(
        session,
        now,
        "courriel_prepare",
        f"Courriel « {kind} » préparé : {rendered.subject}",
        application_id=application_id,
        outbox_id=row.id,
    )
    faults.checkpoint("recording")  # no-op unless GUICHET_FAULTS is set (transaction open)
    return row
