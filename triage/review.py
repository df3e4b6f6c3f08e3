"""What a coordinator does to an application from the desk or the command line.

    correct_field    a field of the dossier that counts, read wrongly (or not at all)
    correct_annex    the kind of one file a mail brought
    set_status       a status given by hand with its reason (« retiré » among them), or
                     back to the computed one
    decide           a selection decision with a note
    note_view        a coordinator opened an application or downloaded one of its files

Each change is recorded with who and when (and, for a correction, before and after), the
application judged again (``triage.filing.recompute``, which applies corrections and the
status given), and logged as an ``Event``. When a correction changes completeness
(incomplet ⇄ complet) the applicant is told through the outbox (``revue``), once per
correction; a « revue » mail still waiting when a newer one is recorded is abandoned, so
the applicant reads only the latest state. Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.programme import Programme
from guichet.errors import InputError
from ingest.archive import RawArchive
from ingest.intake import log_event
from notifications.outbox import record_for_application
from notifications.plan import ANSWERS, APPLICANT_KINDS, Due
from notifications.wording import missing_label, one_line, status_label
from triage.annexes import OTHER
from triage.corrections import ANNEX, FIELD, annex_kind, is_blank, latest_corrections
from triage.decisions import SOURCE_DESK, display_structure, record_decision
from triage.filing import recompute
from triage.models import (
    DECISIONS,
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    RETIRE,
    Application,
    Attachment,
    Correction,
    Message,
    OutboxMail,
    Verdict,
)
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET

REVUE = "revue"  # the mail telling an applicant their dossier was read again
STATUSES = (COMPLET, INCOMPLET, HORS_DELAI, RETIRE)  # what a coordinator may give
REASON_LIMIT = 500
# Why the desk abandoned a waiting mail (not a delivery failure: the health page skips them)
WITHDRAWN = "candidature retirée"
REPLACED = "remplacé par un courriel plus récent (nouvelle correction)"
DESK_REASONS = (WITHDRAWN, REPLACED)


@dataclass(frozen=True)
class Outcome:
    """What a change did: ``changed`` False when it was already so (nothing recorded)."""

    changed: bool
    status_before: str
    status_after: str
    mail: OutboxMail | None = None  # the « revue » mail recorded, if any


def _reason(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text[:REASON_LIMIT] or None


def _judge_again(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    before: str,
    cause: Correction | None,
    now: dt.datetime,
) -> Outcome:
    recompute(session, application, programme, now)
    after = application.status
    mail = None
    if cause is not None and {before, after} == {COMPLET, INCOMPLET}:
        mail = _tell_applicant(session, archive, programme, application, cause, now)
    return Outcome(True, before, after, mail)


def _tell_applicant(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    cause: Correction,
    now: dt.datetime,
) -> OutboxMail | None:
    """Record the « revue » mail for a correction that changed completeness. Not before
    the applicant was answered at all: the acknowledgement, still due, will say it."""
    rows = session.scalars(
        select(OutboxMail).where(OutboxMail.application_id == application.id)
    ).all()
    if not any(r.kind in ANSWERS for r in rows):
        return None
    for row in rows:  # an older state the applicant has not read yet: never sent
        if row.kind == REVUE and row.state == OUTBOX_RECORDED and row.attempts == 0:
            row.state = OUTBOX_ABANDONED
            row.last_error = REPLACED
    latest = max(application.messages, key=lambda m: (m.received_at, m.id), default=None)
    due = Due(
        REVUE, f"{REVUE}:{application.id}:{cause.id}", application.id, latest.id if latest else None
    )
    return record_for_application(session, archive, programme, application, due, now)


def _counting_dossier(application: Application) -> Message:
    version = application.current_version
    if version is None or version.message.parsed is None:
        raise InputError(
            f"« {display_structure(application)} » : aucun dossier lu, aucun champ à corriger"
        )
    return version.message


def field_value(session: Session, message: Message, key: str) -> str | None:
    """A field's value as it counts: the latest correction, else what was read (as text)."""
    row = latest_corrections(session, [message.id]).get((message.id, FIELD, key))
    if row is not None:
        return row.after
    parsed = message.parsed
    value = parsed.fields.get(key) if parsed is not None else None
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def correct_field(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    key: str,
    value: str | None,
    by: str,
    now: dt.datetime,
    reason: str | None = None,
) -> Outcome:
    """Correct field ``key`` of the dossier that counts (a blank ``value``: blank)."""
    try:
        spec = programme.form.field(key)
    except KeyError:
        raise InputError(f"champ inconnu du formulaire : « {one_line(key, 60)} »") from None
    message = _counting_dossier(application)
    before_status = application.status
    before = field_value(session, message, key)
    after = None if is_blank(value) else " ".join(str(value).split("\n")).strip()
    parsed = message.parsed
    unread = key in (parsed.unread or []) if parsed is not None else False
    already = latest_corrections(session, [message.id]).get((message.id, FIELD, key))
    if after == before and (already is not None or not unread):
        return Outcome(False, before_status, before_status)
    label = missing_label(programme, key)
    row = Correction(
        application_id=application.id, message_id=message.id, target=FIELD, key=key,
        before=before, after=after, required=spec.required, reason=_reason(reason), by=by,
        created_at=now,
    )  # fmt: skip
    said = (
        f"{display_structure(application)} : « {one_line(label, 60)} » corrigé par {by} "
        f"(« {one_line(before, 60) or 'vide'} » → « {one_line(after, 60) or 'vide'} »)."
    )
    return _apply(session, archive, programme, application, before_status, row, said)


def annex_choices(programme: Programme) -> list[tuple[str, str]]:
    """(key, label) of the kinds a file may be given, « not an annex » last."""
    return [(a.key, a.label) for a in programme.annexes] + [(OTHER, "Pas une annexe")]


def _message_annexes(session: Session, message: Message) -> dict[str, list[str]]:
    verdict = session.scalars(
        select(Verdict).where(Verdict.message_id == message.id).order_by(Verdict.id.desc())
    ).first()
    return {k: list(v) for k, v in ((verdict.annexes if verdict else None) or {}).items()}


def file_kind(session: Session, attachment: Attachment) -> str:
    """The annex key a file counts as now (corrections applied), ``autres`` when none."""
    row = latest_corrections(session, [attachment.message_id]).get(
        (attachment.message_id, ANNEX, attachment.filename)
    )
    if row is not None and row.after:
        return row.after
    return annex_kind(_message_annexes(session, attachment.message), attachment.filename)


def correct_annex(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    attachment_id: int,
    kind: str,
    by: str,
    now: dt.datetime,
    reason: str | None = None,
) -> Outcome:
    """Give file ``attachment_id`` (of a mail of ``application``) the annex kind ``kind``."""
    kinds = dict(annex_choices(programme))
    if kind not in kinds:
        raise InputError(f"type de pièce inconnu : « {one_line(kind, 40)} »")
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.message.application_id != application.id:
        raise InputError("pièce inconnue pour cette candidature")
    if attachment.role == "dossier":
        raise InputError(f"« {attachment.filename} » est le dossier de candidature, pas une annexe")
    before_status = application.status
    before = file_kind(session, attachment)
    if before == kind:
        return Outcome(False, before_status, before_status)
    row = Correction(
        application_id=application.id, message_id=attachment.message_id, target=ANNEX,
        key=attachment.filename, before=before, after=kind, required=False,
        reason=_reason(reason), by=by, created_at=now,
    )  # fmt: skip
    said = (
        f"{display_structure(application)} : « {one_line(attachment.filename, 60)} » reclassé par "
        f"{by} (« {kinds.get(before, before)} » → « {kinds[kind]} »)."
    )
    return _apply(session, archive, programme, application, before_status, row, said)


def _apply(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    before_status: str,
    row: Correction,
    said: str,
) -> Outcome:
    """Record correction ``row`` with its event (``said``), then judge the application again."""
    session.add(row)
    session.flush()
    log_event(
        session,
        row.created_at,
        "correction",
        said,
        application_id=application.id,
        correction_id=row.id,
        target=row.target,
        key=row.key,
        before=row.before,
        after=row.after,
        by=row.by,
    )
    return _judge_again(
        session, archive, programme, application, before_status, row, row.created_at
    )


def set_status(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    status: str | None,
    reason: str | None,
    by: str,
    now: dt.datetime,
) -> Outcome:
    """Give ``application`` the status ``status`` by hand (None: back to the computed one).
    A reason is required to give one. « Retiré »: the mails waiting for it are abandoned."""
    if status is not None and status not in STATUSES:
        raise InputError(f"statut inconnu : « {one_line(status, 40)} »")
    reason = _reason(reason)
    if status is not None and reason is None:
        raise InputError("donnez la raison du changement de statut")
    if status == INCOMPLET and not application.missing:
        # the applicant would be chased for nothing named: say what is missing instead
        raise InputError(
            "rien ne manque à cette candidature : corrigez plutôt le champ ou la pièce en cause"
        )
    before_status = application.status
    if status == application.status_override:
        return Outcome(False, before_status, before_status)
    previous = application.status_override
    application.status_override = status
    application.override_reason = reason if status is not None else None
    application.override_by = by if status is not None else None
    application.override_at = now if status is not None else None
    if status == RETIRE:
        for row in session.scalars(
            select(OutboxMail).where(
                OutboxMail.application_id == application.id,
                OutboxMail.state == OUTBOX_RECORDED,
                OutboxMail.kind.in_((*APPLICANT_KINDS, REVUE)),
            )
        ):
            row.state = OUTBOX_ABANDONED
            row.last_error = WITHDRAWN
    name = display_structure(application)
    if status is None:
        detail = (
            f"{name} : statut rendu au calcul par {by} (auparavant « {status_label(previous)} »)."
        )
    else:
        detail = f"{name} : statut « {status_label(status)} » donné par {by} – {reason}."
    log_event(
        session,
        now,
        "retrait" if status == RETIRE else "statut_force",
        detail,
        application_id=application.id,
        status=status,
        previous=previous,
        reason=reason,
        by=by,
    )
    return _judge_again(session, archive, programme, application, before_status, None, now)


def decide(
    session: Session,
    application: Application,
    decision: str,
    note: str | None,
    by: str,
    now: dt.datetime,
) -> bool:
    """Record ``decision`` with ``note``; True unless both are already the current ones."""
    if decision not in DECISIONS:
        raise InputError(f"décision inconnue : « {one_line(decision, 40)} »")
    return record_decision(session, application, decision, SOURCE_DESK, now, _reason(note), by)


def note_view(
    session: Session, application: Application, by: str, now: dt.datetime, what: str
) -> None:
    """An event for each look at an application or one of its files (personal data)."""
    log_event(
        session,
        now,
        "consultation",
        f"{display_structure(application)} : {what}, par {by}.",
        application_id=application.id,
        by=by,
        what=what,
    )
