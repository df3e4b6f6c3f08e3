"""Coordinators' corrections and their status, applied to what the checks read.

Nothing read is overwritten: a ``Correction`` row stands beside the parsed dossier and the
mail's verdict, and the latest per (mail, target, key) counts. ``corrected`` applies them
to a mail's ``Contribution`` and ``overridden`` a coordinator's status to an
application's verdict; ``triage.filing`` calls both each time it judges an application,
so a correction still holds when a new mail arrives or a mail is checked again.

    champ    a field of the dossier: a value makes it filled (neither missing nor unread),
             a blank makes it blank (missing when the form requires it)
    annexe   the kind of one file of the mail: an annex key of the programme, or
             ``autres`` (not an annex)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.annexes import OTHER
from triage.application import ApplicationVerdict, Contribution
from triage.models import Application, Correction, Message

FIELD = "champ"
ANNEX = "annexe"


def is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


def latest_corrections(
    session: Session, message_ids: list[int]
) -> dict[tuple[int, str, str], Correction]:
    """(message id, target, key) -> the correction that counts, for these mails."""
    found: dict[tuple[int, str, str], Correction] = {}
    if not message_ids:
        return found
    for row in session.scalars(
        select(Correction)
        .where(Correction.message_id.in_(message_ids))
        .order_by(Correction.created_at, Correction.id)
    ):
        found[(row.message_id, row.target, row.key)] = row
    return found


def corrected(session: Session, message: Message, found: Contribution) -> Contribution:
    """``found`` (what the checks read from ``message``) with the corrections applied."""
    rows = latest_corrections(session, [message.id]).values()
    if not rows:
        return found
    missing = list(found.dossier_missing) if found.has_dossier else None
    unread = list(found.dossier_unread)
    annexes = {k: list(v) for k, v in found.annexes.items()}
    for row in rows:
        if row.target == FIELD and missing is not None:
            unread = [k for k in unread if k != row.key]
            missing = [k for k in missing if k != row.key]
            if is_blank(row.after) and row.required:
                missing.append(row.key)
        elif row.target == ANNEX and row.after:
            for names in annexes.values():
                if row.key in names:
                    names.remove(row.key)
            annexes.setdefault(row.after, []).append(row.key)
    return replace(
        found,
        dossier_missing=tuple(missing) if missing is not None else None,
        dossier_unread=tuple(unread),
        annexes=annexes,
    )


def corrected_fields(
    session: Session | None, message: Message, fields: dict[str, Any], unread: set[str]
) -> tuple[dict[str, Any], set[str]]:
    """A dossier's fields and unread keys with coordinators' field corrections applied (a
    blank correction leaves the field out); unchanged without a session."""
    if session is None:
        return fields, unread
    rows = [r for r in latest_corrections(session, [message.id]).values() if r.target == FIELD]
    if not rows:
        return fields, unread
    fields, unread = dict(fields), set(unread)
    for row in rows:
        unread.discard(row.key)
        if is_blank(row.after):
            fields.pop(row.key, None)
        else:
            fields[row.key] = row.after
    return fields, unread


def overridden(application: Application, verdict: ApplicationVerdict) -> ApplicationVerdict:
    """``verdict`` with the status a coordinator gave the application, if any."""
    if not application.status_override:
        return verdict
    return replace(verdict, status=application.status_override)


def annex_kind(annexes: dict[str, list[str]], filename: str) -> str:
    """The annex key a file counts as in ``annexes`` (``autres`` when none)."""
    return next((k for k, names in annexes.items() if filename in names and k != OTHER), OTHER)
