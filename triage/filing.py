"""Filing a checked mail: its files and verdict in the store, and its place in an application.

A mail that is a candidature (complet, incomplet, hors délai) joins an application, found
in this order: the thread it answers (In-Reply-To / References to a mail of an
application, or to a mail we sent about one), the same structure (``structure_key``),
the same sender when the mail names no structure (or when the sender's application had
none yet). Otherwise it starts one. A mail carrying a dossier is a new version of its
application; then the application's verdict is computed again over all its mails
(``triage.application.combine``) and recorded when it changed.

Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.programme import Programme
from ingest.intake import log_event
from triage.application import (
    SENDER_KEY_PREFIX,
    Contribution,
    combine,
    sender_key,
    structure_key,
)
from triage.check import CheckResult
from triage.corrections import corrected, overridden
from triage.models import (
    ROLE_COMPLEMENT,
    ROLE_DAMAGED,
    ROLE_DOSSIER,
    ROLE_MESSAGE,
    ROLE_NOT_READ,
    TRAITE,
    Application,
    ApplicationVersion,
    Attachment,
    Message,
    OutboxMail,
    ParsedDossier,
    Verdict,
)
from triage.messages import brings_new_file, from_us, note_message
from triage.subject import SubjectMatch
from triage.verdict import (
    AUTOMATIQUE,
    COMPLET,
    HORS_DELAI,
    INCOMPLET,
    NON_CANDIDATURE,
    decide,
    flagged,
)
from triage.verdict import Verdict as MailVerdict

CANDIDATURE = frozenset({COMPLET, INCOMPLET, HORS_DELAI})


# A mail judged as part of an application it answers: its subject need not follow the convention
ON_APPLICATION = SubjectMatch(follows=True, structure=None, year=None)


def file_result(
    session: Session, message: Message, result: CheckResult, programme: Programme, now: dt.datetime
) -> Application | None:
    """Store what the check found on ``message`` and link it; returns its application.

    A mail on an existing application (its thread, its structure, its applicant's address)
    that brings no new file is a message for the coordinators (``triage.messages``); one
    that brings files is a supplement, judged as such even when its subject is not the
    convention's (« RE: Accusé de réception » with the missing CV)."""
    verdict = result.verdict
    before = message.application
    was_message = message.role == ROLE_MESSAGE
    message.structure = verdict.structure
    existing = None
    if verdict.status != AUTOMATIQUE:
        existing = before or find_application(session, programme.id, message)
    on_application = existing is not None and not from_us(message.sender, programme)
    is_message = on_application and not brings_new_file(result.message.attachments)
    if (
        on_application
        and not is_message
        and verdict.status == NON_CANDIDATURE
        and result.evidence is not None
    ):
        verdict = decide(replace(result.evidence, subject=ON_APPLICATION), programme)
    _replace_files(session, message, result, verdict, now)
    session.add(
        Verdict(
            message_id=message.id,
            status=verdict.status,
            structure=verdict.structure,
            missing=list(verdict.missing),
            unread=list(verdict.unread),
            annexes=dict(verdict.annexes),
            bilans_years=list(verdict.bilans_years),
            warnings=list(verdict.warnings),
            created_at=now,
        )
    )
    message.programme_id = programme.id
    message.status = verdict.status
    message.structure = verdict.structure
    message.reply_to = (result.message.reply_to or result.message.sender or "").lower() or None
    message.state = TRAITE
    message.reason = None
    message.checked_at = now
    candidature = verdict.status in CANDIDATURE
    message.role = (
        ROLE_MESSAGE
        if is_message
        else (ROLE_DOSSIER if verdict.dossier else ROLE_COMPLEMENT)
        if candidature
        else None
    )

    after = existing if is_message or candidature else None
    if candidature and not is_message:
        if after is None:
            after = _new_application(session, programme.id, message, now)
        elif message.structure and after.structure_key.startswith(SENDER_KEY_PREFIX):
            _adopt_structure(session, after, message, now)
    message.application = after
    session.flush()
    if is_message and after is not None and not was_message:
        note_message(session, message, after, result.message.body, now)
    # The application it leaves first: a version moves only once the old one lets it go.
    for application in dict.fromkeys(a for a in (before, after) if a is not None):
        recompute(session, application, programme, now)
    return after


def _replace_files(
    session: Session, message: Message, result: CheckResult, verdict: MailVerdict, now: dt.datetime
) -> None:
    message.attachments.clear()
    message.parsed = None
    session.flush()
    dossier_name = verdict.dossier.filename if verdict.dossier else None
    damaged, not_read = set(verdict.damaged), set(verdict.not_read)
    for file in result.message.attachments:
        keys = [
            k for k, names in verdict.annexes.items() if file.filename in names and k != "autres"
        ]
        role = (
            "dossier"
            if file.filename == dossier_name
            else ROLE_DAMAGED
            if file.filename in damaged
            else "annexe"
            if keys
            else ROLE_NOT_READ
            if file.filename in not_read
            else "autre"
        )
        message.attachments.append(
            Attachment(
                filename=file.filename,
                content_type=file.content_type,
                kind=file.kind,
                size=file.size,
                sha256=hashlib.sha256(file.data).hexdigest(),
                role=role,
                annex_keys=keys,
            )
        )
    if verdict.dossier is not None:
        d = verdict.dossier
        message.parsed = ParsedDossier(
            programme_id=result.programme.id,
            filename=d.filename,
            format=d.format,
            fields=dict(d.fields),
            missing=list(d.missing),
            unread=list(d.unread),
            unread_raw=dict(d.unread_raw),
            warnings=list(d.warnings),
            tracked_changes=bool(getattr(d, "tracked_changes", False)),
            created_at=now,
        )


def find_application(session: Session, programme_id: str, message: Message) -> Application | None:
    thread = [i for i in [message.in_reply_to, *(message.references or [])] if i]
    if thread:
        linked = session.scalars(
            select(Application)
            .join(Message, Message.application_id == Application.id)
            .where(Application.programme_id == programme_id, Message.rfc_message_id.in_(thread))
            .order_by(Message.received_at.desc())
        ).first()
        if linked is None:
            linked = session.scalars(
                select(Application)
                .join(OutboxMail, OutboxMail.application_id == Application.id)
                .where(
                    Application.programme_id == programme_id, OutboxMail.rfc_message_id.in_(thread)
                )
            ).first()
        if linked is not None:
            return linked
    key = structure_key(message.structure)
    if key is not None:
        same = session.scalars(
            select(Application).where(
                Application.programme_id == programme_id, Application.structure_key == key
            )
        ).one_or_none()
        if same is not None:
            return same
    if not message.sender:
        return None
    by_sender = select(Application).where(
        Application.programme_id == programme_id,
        or_(Application.sender == message.sender, Application.reply_to == message.sender),
    )
    if key is not None:  # a named structure only takes over a sender's unnamed application
        by_sender = by_sender.where(Application.structure_key.startswith(SENDER_KEY_PREFIX))
    return session.scalars(by_sender.order_by(Application.updated_at.desc())).first()


def _new_application(
    session: Session, programme_id: str, message: Message, now: dt.datetime
) -> Application:
    key = structure_key(message.structure) or sender_key(message.sender or f"inconnu-{message.id}")
    application = Application(
        programme_id=programme_id,
        structure_key=key,
        structure=message.structure,
        sender=message.sender,
        reply_to=message.reply_to,
        status=message.status or INCOMPLET,
        missing=[],
        unread=[],
        annexes={},
        bilans_years=[],
        warnings=[],
        first_received_at=message.received_at,
        last_received_at=message.received_at,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    session.flush()
    log_event(
        session,
        now,
        "candidature_creee",
        f"Nouvelle candidature : {message.structure or message.sender or 'structure inconnue'}",
        message=message,
        application_id=application.id,
    )
    return application


def _adopt_structure(
    session: Session, application: Application, message: Message, now: dt.datetime
) -> None:
    key = structure_key(message.structure)
    taken = session.scalars(
        select(Application.id).where(
            Application.programme_id == application.programme_id, Application.structure_key == key
        )
    ).first()
    if key is None or taken is not None:
        return
    application.structure_key = key
    application.structure = message.structure
    log_event(
        session,
        now,
        "candidature_nommee",
        f"Candidature de {application.sender} : structure « {message.structure} »",
        message=message,
        application_id=application.id,
    )


def _latest_verdict(session: Session, message: Message) -> Verdict | None:
    return session.scalars(
        select(Verdict).where(Verdict.message_id == message.id).order_by(Verdict.id.desc())
    ).first()


def contribution(session: Session, message: Message) -> Contribution | None:
    verdict = _latest_verdict(session, message)
    if verdict is None:
        return None
    parsed = message.parsed
    found = Contribution(
        ref=message.id,
        received=message.received_at,
        structure=verdict.structure,
        annexes={k: list(v) for k, v in (verdict.annexes or {}).items()},
        bilans_years=tuple(verdict.bilans_years or ()),
        dossier_missing=tuple(parsed.missing) if parsed is not None else None,
        dossier_name=parsed.filename if parsed is not None else None,
        warnings=tuple(verdict.warnings or ()),
        dossier_unread=tuple(parsed.unread or ()) if parsed is not None else (),
    )
    return corrected(session, message, found)  # a coordinator's corrections (issue #13)


def recompute(
    session: Session, application: Application, programme: Programme, now: dt.datetime
) -> None:
    """Judge ``application`` again over its mails; versions renumbered by receipt."""
    session.flush()
    session.expire(application, ["messages", "versions"])
    # Each mail as last judged: one waiting to be checked again keeps its last verdict
    # meanwhile, so a reprocess does not flap the application through other states.
    mails = sorted(
        (
            m
            for m in application.messages
            if m.status in CANDIDATURE and m.role != ROLE_MESSAGE
        ),
        key=lambda m: (m.received_at, m.id),
    )
    _sync_versions(session, application, [m for m in mails if m.parsed is not None], now)
    contributions = [c for c in (contribution(session, m) for m in mails) if c is not None]
    if not contributions:
        log_event(
            session,
            now,
            "candidature_vide",
            f"{application.structure or application.structure_key} : plus aucun courriel "
            "de candidature (revérification) ; à examiner.",
            application_id=application.id,
        )
        return
    verdict = overridden(application, combine(contributions, programme))  # issue #13
    for version in application.versions:
        version.counts = version.message_id == verdict.current
    by_id = {m.id: m for m in mails}
    speaker = by_id.get(verdict.current) if verdict.current else mails[-1]
    changed = (
        application.status != verdict.status
        or application.missing != verdict.missing
        or list(application.unread or []) != verdict.unread
        or application.warnings != verdict.warnings
        or application.annexes != verdict.annexes
        or application.bilans_years != verdict.bilans_years
    )
    application.status = verdict.status
    application.structure = verdict.structure or application.structure
    application.missing = verdict.missing
    application.unread = verdict.unread
    application.annexes = verdict.annexes
    application.bilans_years = verdict.bilans_years
    application.warnings = verdict.warnings
    application.reply_to = (speaker.reply_to if speaker else None) or application.reply_to
    application.first_received_at = mails[0].received_at
    application.last_received_at = mails[-1].received_at
    application.updated_at = now
    if changed:
        session.add(
            Verdict(
                application_id=application.id,
                status=verdict.status,
                structure=verdict.structure,
                missing=verdict.missing,
                unread=verdict.unread,
                annexes=verdict.annexes,
                bilans_years=verdict.bilans_years,
                warnings=verdict.warnings,
                created_at=now,
            )
        )
        log_event(
            session,
            now,
            "candidature_jugee",
            f"{application.structure or application.structure_key} : {verdict.status}"
            + (f" (manque : {', '.join(verdict.missing)})" if verdict.missing else "")
            + (
                f" (à vérifier : {', '.join(verdict.unread_required)})"
                if verdict.unread_required
                else ""
            )
            + (" (à vérifier : pièces endommagées ou non lues)" if flagged(verdict.warnings) else ""),
            application_id=application.id,
            status=verdict.status,
            missing=verdict.missing,
            unread=verdict.unread,
        )
    session.flush()


def _sync_versions(
    session: Session, application: Application, dossier_mails: list[Message], now: dt.datetime
) -> None:
    wanted = {m.id for m in dossier_mails}
    for version in list(application.versions):
        if version.message_id not in wanted:
            application.versions.remove(version)
            session.delete(version)
    have = {v.message_id: v for v in application.versions}
    for number, mail in enumerate(dossier_mails, 1):
        version = have.get(mail.id)
        if version is None:
            version = ApplicationVersion(
                message_id=mail.id,
                number=number,
                received_at=mail.received_at,
                counts=False,
                created_at=now,
            )
            application.versions.append(version)
        version.number = number
        version.received_at = mail.received_at
    session.flush()
