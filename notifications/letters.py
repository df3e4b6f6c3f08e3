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
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

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
from triage.annexes import OTHER
from triage.corrections import corrected_fields
from triage.models import ROLE_DAMAGED, ROLE_NOT_READ, Application, Message, Verdict
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET, NOT_READ, required_unread

ROLE_WORDS = {
    "dossier": "dossier de candidature",
    "autre": "pièce non reconnue",
    ROLE_DAMAGED: "fichier endommagé, à nous renvoyer",
    ROLE_NOT_READ: "pièce à examiner par notre équipe",
}
TO_CHECK = "à vérifier par notre équipe"  # in place of an answer written but not read
CONTAINERS = frozenset({"zip", "tnef"})  # what parsers.archives opens
CONTAINER_WORDS = {"zip": "archive .zip", "tnef": "pièce jointe Outlook (winmail.dat)"}


def _is_container(attachment: Any) -> bool:
    return attachment.kind in CONTAINERS or attachment.content_type in (
        "application/ms-tnef",
        "application/vnd.ms-tnef",
    )


def _inside(mail: Message, programme: Programme) -> tuple[list[dict[str, str]], set[str]]:
    """The files found inside the mail's .zip and winmail.dat, each with what it was taken
    for, as the mail's last verdict recorded them (file name per annex); and the names of
    the containers that could not be opened (they stay in the verdict as a file)."""
    containers = [a for a in mail.attachments if _is_container(a)]
    session = object_session(mail)
    if not containers or session is None:
        return [], set()
    verdict = session.scalars(
        select(Verdict).where(Verdict.message_id == mail.id).order_by(Verdict.id.desc())
    ).first()
    if verdict is None:
        return [], set()
    annex_labels = {a.key: a.label for a in programme.annexes}
    not_read = " ".join(w for w in verdict.warnings or [] if str(w).startswith(NOT_READ))
    found: dict[str, list[str]] = {}
    if mail.parsed is not None:
        found.setdefault(mail.parsed.filename, []).append(ROLE_WORDS["dossier"])
    for key, names in (verdict.annexes or {}).items():
        for name in names:
            if key == OTHER:
                words = ROLE_WORDS[ROLE_NOT_READ if f"« {name} »" in not_read else "autre"]
            else:
                words = annex_labels.get(key, key)
            found.setdefault(name, []).append(words)
    # The mail's own files are in the verdict too: what is left came out of the containers.
    own = Counter(a.filename for a in mail.attachments)
    unopened = {a.filename for a in containers if a.filename in found}
    members = []
    for name, words in found.items():
        if own[name] > 0:
            own[name] -= 1
            continue
        members.append({"name": one_line(name, 120), "what": " ; ".join(dict.fromkeys(words))})
    return members, unopened


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
    fields, unread = corrected_fields(  # as a coordinator corrected them (issue #13)
        object_session(application), version.message, parsed.fields, set(parsed.unread or ())
    )
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


def received_files(application: Application, programme: Programme) -> list[dict[str, Any]]:
    """Every file of the application's mails received before the deadline; a .zip or a
    winmail.dat with the files found inside (``inside``), each with what it was taken for."""
    annex_labels = {a.key: a.label for a in programme.annexes}
    deadline = programme.deadline_at
    still_damaged = set(damaged_files(application, programme))
    files: list[dict[str, Any]] = []
    for mail in sorted(application.messages, key=lambda m: (m.received_at, m.id)):
        if mail.role is None or (deadline is not None and mail.received_at > deadline):
            continue
        inside, unopened = _inside(mail, programme)
        opened = [
            a for a in mail.attachments if _is_container(a) and a.filename not in unopened
        ]
        for attachment in mail.attachments:
            members: list[dict[str, str]] = []
            if attachment in opened:
                what = CONTAINER_WORDS.get(attachment.kind, CONTAINER_WORDS["zip"])
                if attachment is opened[-1]:  # one list for the mail's containers
                    members = inside
                if not members:  # empty, or its files listed under the mail's last one
                    what += " vide" if len(opened) == 1 else " (contenu ci-dessous)"
            elif attachment.kind in CONTAINERS and attachment.filename in unopened:
                what = "archive illisible, à nous renvoyer"
            elif attachment.role == "annexe" and attachment.annex_keys:
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
                    "inside": members,
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
