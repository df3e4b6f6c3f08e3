"""The outbox: every mail guichet sends is recorded, then sent, then marked sent.

    record     the mail is rendered, its bytes archived (0600) and a row added with a key
               unique to its event (``accuse:12:345``) and a Message-ID chosen now; a
               second recording of the same key is refused by the database
    claim      one transaction turns ``enregistre`` into ``envoi`` (a conditional UPDATE:
               of two workers, one wins); attempts + 1
    send       the archived bytes go to SMTP: the same bytes and Message-ID on every try
    mark       ``envoye`` with the time; or back to ``enregistre`` with a growing delay
               when the server is down (4xx, unreachable), ``abandonne`` when it refuses
               the address for good (5xx)
    copy       a copy is appended to the sending mailbox's Sent folder, once: before a
               retry, the folder is searched for the Message-ID

A crash between record and claim, or claim and send, leaves a row the next run sends. A
crash between send and mark leaves a row in ``envoi``: after ``SENDING_LEASE`` (longer
than any SMTP attempt, so never while another worker is still sending) it is sent
again with the same Message-ID and flagged ``uncertain``; the digest lists it as a
possible double. SMTP offers no way to ask whether a mail went through, so this window
(between the server's 250 and our commit) cannot be closed, only made visible.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from config.programme import Programme
from guichet.errors import DeliveryError
from ingest.archive import RawArchive
from ingest.intake import log_event
from notifications.compose import AUTO_GENERATED, Rendered, build_mail, new_message_id, render
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
from notifications.smtp import Sender, SendFailed
from triage.models import (
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    TRAITE,
    Application,
    Event,
    Message,
    OutboxMail,
)
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET

SENDING_LEASE = dt.timedelta(minutes=10)
RETRY_MAX = dt.timedelta(hours=1)
CANDIDATURES = (COMPLET, INCOMPLET, HORS_DELAI)
UNCAPPED = (RESULTAT, DIGEST)
# Addresses never written to: our own, and robots (their mails never make applications,
# but a reply address can still point at one).
_ROBOTS = ("noreply", "no-reply", "no_reply", "donotreply", "mailer-daemon", "postmaster")

log = logging.getLogger("guichet.outbox")


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4… minutes after each failed attempt, at most an hour."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_MAX)


def sender_name(programme: Programme) -> str:
    return f"{programme.organisation} – {programme.name}"


def writable(address: str | None, programme: Programme) -> bool:
    if not address or "@" not in address:
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


def sent_today(session: Session, recipient: str, programme: Programme, now: dt.datetime) -> int:
    """Mails recorded for ``recipient`` since local midnight, results and digests aside."""
    local = now.astimezone(programme.zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
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
        .where(Application.programme_id == programme.id, Application.status.in_(CANDIDATURES))
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
    context = applicant_context(session, app, programme, now, answered, decision)
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
    local = now.astimezone(programme.zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
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
        f"{app.structure or app.structure_key} : {programme.notifications.daily_cap} courriels "
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
        auto_submitted=AUTO_GENERATED if kind == DIGEST else "auto-replied",
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
    return row


# --- sending ------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _due_filter(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            OutboxMail.state == OUTBOX_RECORDED,
            or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
        ),
        and_(OutboxMail.state == OUTBOX_SENDING, OutboxMail.sending_at < now - SENDING_LEASE),
    )


def due_ids(session: Session, now: dt.datetime, kinds: Iterable[str] | None = None) -> list[int]:
    query = select(OutboxMail.id).where(_due_filter(now)).order_by(OutboxMail.id)
    if kinds is not None:
        query = query.where(OutboxMail.kind.in_(list(kinds)))
    return list(session.scalars(query))


# Test seam: called between the steps of a delivery with the step's name ("claimed",
# "sent"); the fault-injection tests kill the process there (SIGKILL).
Step = Callable[[str, int], None]


def _no_step(step: str, outbox_id: int) -> None:
    pass


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
            .where(
                OutboxMail.id == outbox_id,
                OutboxMail.state == OUTBOX_SENDING,
                OutboxMail.sending_at < now - SENDING_LEASE,
            )
            .values(uncertain=True, **claimed)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not again:
            fresh = session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.id == outbox_id,
                    OutboxMail.state == OUTBOX_RECORDED,
                    or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
                )
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
