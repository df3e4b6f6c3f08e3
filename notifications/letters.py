"""What the templates of mails to applicants are given: plain values, already in French.

The context says what was received (each file and what it was taken for), what was
understood (a few key fields of the dossier that counts), what is missing, and the
programme's dates, in Brussels time. Applicant text is flattened and cut here
(``one_line``); the HTML templates escape it.

An answer written but not read (``unread``: a score « 12/10 ») is never called missing
and never repeated back: the summary says « à vérifier par notre équipe » in its place,
and ``to_check`` names the required ones (by title only) for the team's note.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from config.programme import FieldSpec, Programme
from notifications.people import phone, referent
from notifications.wording import (
    date_value,
    day,
    decision_label,
    missing_label,
    missing_questions,
    one_line,
    same_minute,
    when,
)
from triage.models import ROLE_DAMAGED, ROLE_NOT_READ, Application, Message
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET, required_unread

ROLE_WORDS = {
    "dossier": "dossier de candidature",
    "autre": "pièce non reconnue",
    ROLE_DAMAGED: "fichier endommagé, à nous renvoyer",
    ROLE_NOT_READ: "pièce à examiner par notre équipe",
}
TO_CHECK = "à vérifier par notre équipe"  # in place of an answer written but not read


def _value(value: Any, spec: FieldSpec) -> str:
    if spec.type == "date" and isinstance(value, (str, dt.date)):
        return date_value(value)  # « 3 février 2015 », « février 2002 »
    return one_line(str(value), 200)


def understood(application: Application, programme: Programme) -> list[tuple[str, str]]:
    """(label, value) pairs read from the dossier that counts, as the applicant wrote them."""
    version = application.current_version
    if version is None or version.message.parsed is None:
        return []
    parsed = version.message.parsed
    fields = parsed.fields
    unread = set(parsed.unread or ())
    summary = programme.notifications
    rows: list[tuple[str, str]] = []
    for key in summary.summary_fields:
        spec = programme.form.field(key)
        if key in unread:
            rows.append((spec.title or spec.label or key, TO_CHECK))
        elif fields.get(key) not in (None, ""):
            rows.append((spec.title or spec.label or key, _value(fields[key], spec)))
    person = referent(programme, fields)
    if person.name:
        contact = [person.name]
        if person.phone:
            contact.append(person.phone.display)
        if person.email:
            contact.append(person.email)
        rows.append(("Personne référente", ", ".join(contact)))
    for section in programme.form.sections:
        label = summary.summary_counts.get(section.id)
        if label is None:
            continue
        given = sum(1 for f in section.fields if fields.get(f.key) not in (None, ""))
        unit = "notes" if all(f.type == "score" for f in section.fields) else "réponses"
        count = f"{given} {unit} sur {len(section.fields)}"
        unsure = sum(1 for f in section.fields if f.key in unread)
        if unsure:
            count += f", {unsure} {TO_CHECK}"
        rows.append((label, count))
    return rows


def to_check(application: Application, programme: Programme) -> list[str]:
    """The required fields the team will read itself (written but not read), by title: the
    applicant is told they are seen, never that they are missing, never a value."""
    keys = required_unread(list(application.unread or []), programme)
    order = {k: i for i, k in enumerate(programme.field_keys())}
    return [missing_label(programme, k) for k in sorted(keys, key=lambda k: order.get(k, 0))]


def received_files(application: Application, programme: Programme) -> list[dict[str, str]]:
    """Every file of the application's mails received before the deadline."""
    annex_labels = {a.key: a.label for a in programme.annexes}
    deadline = programme.deadline_at
    still_damaged = set(damaged_files(application, programme))
    files = []
    for mail in sorted(application.messages, key=lambda m: (m.received_at, m.id)):
        if mail.role is None or (deadline is not None and mail.received_at > deadline):
            continue
        for attachment in mail.attachments:
            if attachment.role == "annexe" and attachment.annex_keys:
                what = " ; ".join(annex_labels.get(k, k) for k in attachment.annex_keys)
            elif attachment.role == ROLE_DAMAGED and (
                one_line(attachment.filename, 120) not in still_damaged
            ):
                what = "fichier endommagé, renvoyé depuis"
            else:
                what = ROLE_WORDS.get(attachment.role, attachment.role)
            files.append(
                {
                    "name": one_line(attachment.filename, 120),
                    "what": what,
                    "received": when(
                        mail.received_at,
                        programme,
                        seconds=same_minute(mail.received_at, deadline),
                    ),
                }
            )
    return files


def _on_time_mails(application: Application, programme: Programme) -> list[Message]:
    deadline = programme.deadline_at
    return [
        mail
        for mail in sorted(application.messages, key=lambda m: (m.received_at, m.id))
        if mail.role is not None and (deadline is None or mail.received_at <= deadline)
    ]


def damaged_files(application: Application, programme: Programme) -> list[str]:
    """The files that arrived damaged and were not sent again intact since, by name."""
    damaged: dict[str, None] = {}
    for mail in _on_time_mails(application, programme):
        for attachment in mail.attachments:
            name = one_line(attachment.filename, 120)
            if attachment.role == ROLE_DAMAGED:
                damaged[name] = None
            else:
                damaged.pop(name, None)  # received again, readable
    return list(damaged)


def files_not_read(application: Application, programme: Programme) -> bool:
    """Whether a file of the application's mails was left unread (the time budget)."""
    return any(
        a.role == ROLE_NOT_READ
        for mail in _on_time_mails(application, programme)
        for a in mail.attachments
    )


def _phone(number: str | None) -> str:
    found = phone(number) if number else None
    return found.display if found else ""


def applicant_context(
    application: Application,
    programme: Programme,
    now: dt.datetime,
    answered: Message | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    deadline = programme.deadline_at
    manager = programme.manager
    files = received_files(application, programme)
    # A time in the deadline's minute is shown to the second, and the deadline with it:
    # « reçu à 10:00:01 … clôture fixée à 10:00:00 », never « à 10:00 … à 10:00 ».
    close_call = answered is not None and same_minute(answered.received_at, deadline)
    close_call = close_call or any(
        same_minute(m.received_at, deadline) for m in _on_time_mails(application, programme)
    )
    return {
        "programme": programme.name,
        "organisation": programme.organisation,
        "structure": one_line(application.structure, 200) or "votre structure",
        "status": application.status,
        "complete": application.status == COMPLET,
        "incomplete": application.status == INCOMPLET,
        "late": application.status == HORS_DELAI,
        "missing": missing_questions(programme, list(application.missing or [])),
        "to_check": to_check(application, programme),
        "damaged": damaged_files(application, programme),
        "not_read": files_not_read(application, programme),
        "understood": understood(application, programme),
        "files": files,
        "answered_at": (
            when(answered.received_at, programme, seconds=close_call)
            if answered is not None
            else ""
        ),
        "answered_late": bool(
            answered is not None and deadline is not None and answered.received_at > deadline
        ),
        "deadline": when(deadline, programme, seconds=close_call),
        "deadline_passed": deadline is not None and now >= deadline,
        "subject_convention": programme.subject.convention if programme.subject else "",
        "phone_calls": (
            f"du {day(programme.phone_calls.start)} au {day(programme.phone_calls.end)}"
            if programme.phone_calls
            else ""
        ),
        "results_day": day(programme.results_date) if programme.results_date else "",
        "manager": manager.name if manager else "",
        "manager_email": manager.email if manager else "",
        "manager_phone": _phone(manager.phone if manager else None),
        "decision": decision,
        "decision_label": decision_label(decision),
    }
