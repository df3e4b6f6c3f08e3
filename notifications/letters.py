"""What the templates of mails to applicants are given: plain values, already in the
mail's language (French unless ``language`` says otherwise: ``notifications.phrases``).

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
from notifications.phrases import FR, phrases
from notifications.wording import (
    date_value,
    day,
    decision_label,
    missing_label,
    missing_questions,
    number,
    one_line,
    period,
    same_minute,
    when,
    words_for,
)
from triage.annexes import OTHER
from triage.corrections import corrected_fields
from triage.models import (
    CONTRIBUTING,
    ROLE_DAMAGED,
    ROLE_NOT_READ,
    Application,
    Message,
    Verdict,
)
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET, NOT_READ, required_unread

ROLE_WORDS = FR.roles
TO_CHECK = FR.to_check  # in place of an answer written but not read
CONTAINERS = frozenset({"zip", "tnef"})  # what parsers.archives opens
CONTAINER_WORDS = FR.containers


def _is_container(attachment: Any) -> bool:
    return attachment.kind in CONTAINERS or attachment.content_type in (
        "application/ms-tnef",
        "application/vnd.ms-tnef",
    )


def _annex_labels(programme: Programme, language: str | None) -> dict[str, str]:
    """Annex key -> its label in ``language`` (the form's own when it names none)."""
    return {a.key: missing_label(programme, f"annexe.{a.key}", language) for a in programme.annexes}


def _inside(
    mail: Message, programme: Programme, language: str | None = None
) -> tuple[list[dict[str, str]], set[str]]:
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
    annex_labels = _annex_labels(programme, language)
    roles = phrases(language).roles
    not_read = " ".join(w for w in verdict.warnings or [] if str(w).startswith(NOT_READ))
    found: dict[str, list[str]] = {}
    if mail.parsed is not None:
        found.setdefault(mail.parsed.filename, []).append(roles["dossier"])
    for key, names in (verdict.annexes or {}).items():
        for name in names:
            if key == OTHER:
                words = roles[ROLE_NOT_READ if f"« {name} »" in not_read else "autre"]
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
        what = phrases(language).separator.join(dict.fromkeys(words))
        members.append({"name": one_line(name, 120), "what": what})
    return members, unopened


def _value(value: Any, spec: FieldSpec, language: str | None = None) -> str:
    if spec.type == "date" and isinstance(value, (str, dt.date)):
        return date_value(value, language)  # « 3 février 2015 », « février 2002 »
    if spec.type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value, language or "fr")  # « 2,5 » (« 2.5 » in English)
    return one_line(str(value), 200)


def _title(programme: Programme, spec: FieldSpec, language: str | None) -> str:
    """How the summary names a field: its title (else label), in ``language``'s words."""
    words = words_for(programme, language)
    if words is not None and spec.key in words.fields:
        return missing_label(programme, spec.key, language)
    return spec.title or spec.label or spec.key


def understood(
    application: Application, programme: Programme, language: str | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs read from the dossier that counts, as the applicant wrote them."""
    version = application.current_version
    if version is None or version.message.parsed is None:
        return []
    parsed = version.message.parsed
    fields, unread = corrected_fields(  # as a coordinator corrected them (issue #13)
        object_session(application), version.message, parsed.fields, set(parsed.unread or ())
    )
    summary = programme.notifications
    said = phrases(language)
    words = words_for(programme, language)
    rows: list[tuple[str, str]] = []
    for key in summary.summary_fields:
        spec = programme.form.field(key)
        if key in unread:
            rows.append((_title(programme, spec, language), said.to_check))
        elif fields.get(key) not in (None, ""):
            rows.append((_title(programme, spec, language), _value(fields[key], spec, language)))
    person = referent(programme, fields)
    if person.name:
        contact = [person.name]
        if person.phone:
            contact.append(person.phone.display)
        if person.email:
            contact.append(person.email)
        rows.append((said.referent, ", ".join(contact)))
    for section in programme.form.sections:
        label = summary.summary_counts.get(section.id)
        if label is None:
            continue
        if words is not None:
            label = words.sections.get(section.id, label)
        given = sum(1 for f in section.fields if fields.get(f.key) not in (None, ""))
        unit = said.scores if all(f.type == "score" for f in section.fields) else said.answers
        count = unit.format(given=given, total=len(section.fields))
        unsure = sum(1 for f in section.fields if f.key in unread)
        if unsure:
            count += f", {unsure} {said.to_check}"
        rows.append((label, count))
    return rows


def to_check(
    application: Application, programme: Programme, language: str | None = None
) -> list[str]:
    """The required fields the team will read itself (written but not read), by title: the
    applicant is told they are seen, never that they are missing, never a value."""
    keys = required_unread(list(application.unread or []), programme)
    order = {k: i for i, k in enumerate(programme.field_keys())}
    return [
        missing_label(programme, k, language)
        for k in sorted(keys, key=lambda k: order.get(k, 0))
    ]


def received_files(
    application: Application, programme: Programme, language: str | None = None
) -> list[dict[str, Any]]:
    """Every file of the application's mails received before the deadline; a .zip or a
    winmail.dat with the files found inside (``inside``), each with what it was taken for."""
    annex_labels = _annex_labels(programme, language)
    said = phrases(language)
    deadline = programme.deadline_at
    still_damaged = set(damaged_files(application, programme))
    files: list[dict[str, Any]] = []
    for mail in sorted(application.messages, key=lambda m: (m.received_at, m.id)):
        if mail.role not in CONTRIBUTING or (deadline is not None and mail.received_at > deadline):
            continue
        inside, unopened = _inside(mail, programme, language)
        opened = [
            a for a in mail.attachments if _is_container(a) and a.filename not in unopened
        ]
        for attachment in mail.attachments:
            members: list[dict[str, str]] = []
            if attachment in opened:
                what = said.containers.get(attachment.kind, said.containers["zip"])
                if attachment is opened[-1]:  # one list for the mail's containers
                    members = inside
                if not members:  # empty, or its files listed under the mail's last one
                    what = (said.empty if len(opened) == 1 else said.contents_below).format(
                        what=what
                    )
            elif attachment.kind in CONTAINERS and attachment.filename in unopened:
                what = said.unreadable_archive
            elif attachment.role == "annexe" and attachment.annex_keys:
                what = said.separator.join(annex_labels.get(k, k) for k in attachment.annex_keys)
            elif attachment.role == ROLE_DAMAGED and (
                one_line(attachment.filename, 120) not in still_damaged
            ):
                what = said.damaged_resent
            else:
                what = said.roles.get(attachment.role, attachment.role)
            files.append(
                {
                    "name": one_line(attachment.filename, 120),
                    "what": what,
                    "inside": members,
                    "received": when(
                        mail.received_at,
                        programme,
                        seconds=same_minute(mail.received_at, deadline),
                        language=language,
                    ),
                }
            )
    return files


def _on_time_mails(application: Application, programme: Programme) -> list[Message]:
    deadline = programme.deadline_at
    return [
        mail
        for mail in sorted(application.messages, key=lambda m: (m.received_at, m.id))
        if mail.role in CONTRIBUTING and (deadline is None or mail.received_at <= deadline)
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
    language: str = "fr",
) -> dict[str, Any]:
    """Everything a mail to ``application`` may say, in ``language``."""
    deadline = programme.deadline_at
    manager = programme.manager
    said = phrases(language)
    files = received_files(application, programme, language)
    # A time in the deadline's minute is shown to the second, and the deadline with it:
    # « reçu à 10:00:01 … clôture fixée à 10:00:00 », never « à 10:00 … à 10:00 ».
    close_call = answered is not None and same_minute(answered.received_at, deadline)
    close_call = close_call or any(
        same_minute(m.received_at, deadline) for m in _on_time_mails(application, programme)
    )
    return {
        "programme": programme.name,
        "organisation": programme.organisation,
        "structure": one_line(application.structure, 200) or said.your_structure,
        "status": application.status,
        "complete": application.status == COMPLET,
        "incomplete": application.status == INCOMPLET,
        "late": application.status == HORS_DELAI,
        "missing": missing_questions(programme, list(application.missing or []), language),
        "to_check": to_check(application, programme, language),
        "damaged": damaged_files(application, programme),
        "not_read": files_not_read(application, programme),
        "understood": understood(application, programme, language),
        "files": files,
        "answered_at": (
            when(answered.received_at, programme, seconds=close_call, language=language)
            if answered is not None
            else ""
        ),
        "answered_late": bool(
            answered is not None and deadline is not None and answered.received_at > deadline
        ),
        "deadline": when(deadline, programme, seconds=close_call, language=language),
        "deadline_passed": deadline is not None and now >= deadline,
        "subject_convention": programme.subject.convention if programme.subject else "",
        "phone_calls": (
            period(programme.phone_calls.start, programme.phone_calls.end, language)
            if programme.phone_calls
            else ""
        ),
        "results_day": day(programme.results_date, language) if programme.results_date else "",
        "manager": manager.name if manager else "",
        "manager_email": manager.email if manager else "",
        "manager_phone": _phone(manager.phone if manager else None),
        "decision": decision,
        "decision_label": decision_label(decision, language),
        "language": language,
    }
