"""The outbox: every mail guichet sends is recorded before anything else.

    record     the mail is rendered, its bytes archived (0600) and a row added with a key
               unique to its event (``accuse:12:345``) and a Message-ID chosen now; a
               second recording of the same key is refused by the database
    send       ``notifications.delivery``: claimed by one worker, handed to SMTP, marked
    copy       ``notifications.sent_folder``: once in the sending mailbox's Sent folder

``plan_and_record`` records what ``notifications.plan`` says applicants are due, within
the daily cap and never to robots or our own addresses. The missing items a mail to an
applicant lists (``Application.missing`` when it was recorded) are kept in the data of its
``courriel_prepare`` event, so that the plan can tell a mail about the same items.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

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
    quote,
    render,
)
from notifications.language import application_language
from notifications.letters import applicant_context
from notifications.phrases import phrases
from notifications.wording import missing_label, typography
from notifications.plan import (
    ACCUSE,
    ANSWERS,
    APPLICANT_KINDS,
    COMPLEMENT,
    DIGEST,
    MESSAGE_RECU,
    RAPPEL,
    RELANCE,
    RESULTAT,
    ApplicationFacts,
    Due,
    Listed,
    MailFacts,
    covered_by,
    due_mails,
)
from triage.decisions import display_structure
from triage.filing import CANDIDATURE
from triage.verdict import DOSSIER
from triage.messages import DEALT
from triage.models import (
    CONTRIBUTING,
    OUTBOX_RECORDED,
    ROLE_MESSAGE,
    TRAITE,
    Application,
    Event,
    Message,
    OutboxMail,
)

UNCAPPED = (RESULTAT, DIGEST)
LISTING = (ACCUSE, COMPLEMENT, RELANCE, RAPPEL)  # kinds that list what is still missing
PREPARED = "courriel_prepare"  # the event of a recorded mail (its data: outbox_id, missing)
SUBJECT_ITEMS_LIMIT = 70  # characters of missing items named in a follow-up's subject
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


def application_facts(
    app: Application,
    rows: Iterable[OutboxMail],
    listings: Mapping[int, list[str] | None] | None = None,
    dealt: Collection[int] = (),
) -> ApplicationFacts:
    """The plan's facts; ``listings``: outbox id -> the missing items that mail listed
    (``listed_missing``; a mail absent or None counts as about the same items); ``dealt``:
    the messages a coordinator dealt with (``dealt_messages``)."""
    ordered = sorted(app.messages, key=lambda m: (m.received_at, m.id))
    mails = tuple(
        MailFacts(m.id, m.received_at)
        for m in ordered
        if m.state == TRAITE and m.role in CONTRIBUTING
    )
    messages = tuple(
        MailFacts(m.id, m.received_at)
        for m in ordered
        if m.state == TRAITE and m.role == ROLE_MESSAGE
    )
    rows = list(rows)
    answered = [r.in_reply_to_id for r in rows if r.kind in ANSWERS and r.in_reply_to_id]
    written = [r.created_at for r in rows if r.kind != DIGEST]
    answers = [r.created_at for r in rows if r.kind in (*ANSWERS, MESSAGE_RECU)]
    acks = [r.created_at for r in rows if r.kind == MESSAGE_RECU]
    return ApplicationFacts(
        id=app.id,
        status=app.status,
        mails=mails,
        covered=covered_by(mails, answered),
        keys=frozenset(r.key for r in rows),
        last_written_at=max(written) if written else None,
        missing=frozenset(app.missing or ()),
        listed=tuple(
            Listed(r.created_at, _as_set((listings or {}).get(r.id)))
            for r in rows
            if r.kind in LISTING
        ),
        messages=messages,
        dealt=frozenset(m.id for m in messages).intersection(dealt),
        answered_at=max(answers) if answers else None,
        message_ack_at=max(acks) if acks else None,
    )


def dealt_messages(session: Session, application_ids: list[int]) -> set[int]:
    """The messages of these applications a coordinator has dealt with."""
    if not application_ids:
        return set()
    return {
        i
        for i in session.scalars(
            select(Event.message_id).where(
                Event.kind == DEALT, Event.application_id.in_(application_ids)
            )
        )
        if i is not None
    }


def _as_set(keys: list[str] | None) -> frozenset[str] | None:
    return None if keys is None else frozenset(keys)


def listed_missing(session: Session, application_ids: list[int]) -> dict[int, list[str] | None]:
    """Outbox id -> the missing items its mail listed, from the ``courriel_prepare`` events
    of these applications (None for a mail recorded before they were kept)."""
    found: dict[int, list[str] | None] = {}
    if not application_ids:
        return found
    for data in session.scalars(
        select(Event.data).where(Event.kind == PREPARED, Event.application_id.in_(application_ids))
    ):
        data = data or {}
        if isinstance(data.get("outbox_id"), int):
            missing = data.get("missing")
            found[data["outbox_id"]] = list(missing) if isinstance(missing, list) else None
    return found


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
    listings = listed_missing(session, [a.id for a in apps])
    dealt = dealt_messages(session, [a.id for a in apps])
    recorded = []
    for app in apps:
        facts = application_facts(app, rows_by_app.get(app.id, []), listings, dealt)
        for due in due_mails(facts, programme, now):
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
    language = application_language(session, archive, programme, app, now)
    context = applicant_context(app, programme, now, answered, decision, language)
    context = {**context, **_chaser_context(app, programme, due, language)}
    rendered = render(due.kind, context, language)
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
        listed=sorted(app.missing or []) if due.kind in LISTING else None,
    )


def _chaser_context(
    app: Application, programme: Programme, due: Due, language: str = "fr"
) -> dict[str, Any]:
    """What a follow-up or reminder says beyond ``applicant_context``: the missing items
    for its subject, and whether a follow-up also stands for a reminder."""
    return {
        "missing_short": missing_in_subject(programme, list(app.missing or []), language),
        "reminder_days": due.reminder,
    }


def missing_in_subject(programme: Programme, keys: list[str], language: str = "fr") -> str:
    """The missing items as a subject names them, as one would write it by hand: « le CV de
    la personne référente pour COOPCITY », « vos statuts et le CV de … », « vos statuts et 2
    autres éléments »; a field of the form by its title between quotes, set as French; a
    long name shortened on a word (…), the whole at most ``SUBJECT_ITEMS_LIMIT`` characters.
    In ``language``: « uw statuten en nog 2 onderdelen », « your articles of association »."""
    said = phrases(language)
    fields = {k: i for i, k in enumerate(programme.field_keys())}
    annexes = {f"annexe.{a.key}": i for i, a in enumerate(programme.annexes)}
    # as the mail lists them (``wording.missing_labels``): the form, its fields, the annexes
    ranked = sorted(
        keys,
        key=lambda k: (0, 0, k) if k == DOSSIER else
        (1, fields[k], k) if k in fields else (2, annexes.get(k, len(annexes)), k),
    )  # fmt: skip
    if not ranked:
        return said.some_items
    first = _subject_name(programme, ranked[0], SUBJECT_ITEMS_LIMIT, language)
    if len(ranked) == 1:
        return first
    others = len(ranked) - 1
    second = _subject_name(programme, ranked[1], SUBJECT_ITEMS_LIMIT, language)
    both = f"{first}{said.and_}{second}"
    if others == 1 and len(both) <= SUBJECT_ITEMS_LIMIT:
        return both
    rest = said.one_other if others == 1 else said.others.format(n=others)
    return _subject_name(programme, ranked[0], SUBJECT_ITEMS_LIMIT - len(rest), language) + rest


def _subject_name(programme: Programme, key: str, limit: int, language: str = "fr") -> str:
    """An annex as a phrase (« Vos statuts » -> « vos statuts »; « CV » stays a capital),
    the form itself as « le formulaire de candidature », a field of the form by its title
    between quotes."""
    if key == DOSSIER:
        return phrases(language).the_form
    label = missing_label(programme, key, language)
    if key.startswith("annexe.") and label != key:
        if label[1:2].islower():  # « Vos statuts », not « CV de … »
            label = label[:1].lower() + label[1:]
        return _shorten(label, limit)
    return quote(_shorten(typography(label, language), limit - 4), language)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:(") + "…"


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
    listed: list[str] | None = None,
) -> OutboxMail | None:
    """Archive the mail's bytes and add its row; None when ``key`` is already recorded.
    ``listed``: the missing items the mail lists, kept in its event's data."""
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
        # RFC 3834: an answer to an applicant, else generated (digest, alerts, test mail)
        auto_submitted=AUTO_REPLIED if kind in APPLICANT_KINDS else AUTO_GENERATED,
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
    extra: dict[str, Any] = {"missing": listed} if listed is not None else {}
    log_event(
        session,
        now,
        PREPARED,
        f"Courriel « {kind} » préparé : {rendered.subject}",
        application_id=application_id,
        outbox_id=row.id,
        **extra,
    )
    faults.checkpoint("recording")  # no-op unless GUICHET_FAULTS is set (transaction open)
    return row
