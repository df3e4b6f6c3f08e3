"""The result mails (retenu, non retenu, liste d'attente): recorded once per application
by ``guichet results send``, from the latest decision of each application."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.programme import Programme
from ingest.archive import RawArchive
from notifications.language import kept_language
from notifications.outbox import record_for_application, writable
from notifications.plan import RESULTAT, Due
from triage.decisions import current_decisions, display_structure
from triage.filing import CANDIDATURE
from triage.models import Application, OutboxMail


@dataclass(frozen=True)
class ResultLine:
    application_id: int
    structure: str
    recipient: str | None
    decision: str | None
    state: str  # "a_envoyer", "deja_envoye", "sans_decision", "sans_adresse"
    language: str | None = None  # of its mails (None: not chosen yet, on its first mail)


def result_key(application_id: int) -> str:
    return f"{RESULTAT}:{application_id}"


def results_plan(session: Session, programme: Programme) -> list[ResultLine]:
    """What ``results send`` would do for each application, in structure order."""
    decisions = current_decisions(session, programme.id)
    keys = set(session.scalars(select(OutboxMail.key).where(OutboxMail.kind == RESULTAT)).all())
    lines = []
    apps = session.scalars(
        select(Application).where(
            Application.programme_id == programme.id, Application.status.in_(CANDIDATURE)
        )
    ).all()
    for app in sorted(apps, key=lambda a: display_structure(a).casefold()):
        decision = decisions.get(app.id)
        if result_key(app.id) in keys:
            state = "deja_envoye"
        elif decision is None:
            state = "sans_decision"
        elif not writable(app.reply_to, programme):
            state = "sans_adresse"
        else:
            state = "a_envoyer"
        language = kept_language(session, programme, app.id)
        lines.append(
            ResultLine(app.id, display_structure(app), app.reply_to, decision, state, language)
        )
    return lines


def record_results(
    session: Session, archive: RawArchive, programme: Programme, now: dt.datetime
) -> list[OutboxMail]:
    """Record the result mail of every decided application that has none yet."""
    recorded = []
    for line in results_plan(session, programme):
        if line.state != "a_envoyer":
            continue
        app = session.get(Application, line.application_id)
        latest = max(app.messages, key=lambda m: (m.received_at, m.id), default=None)
        due = Due(RESULTAT, result_key(app.id), app.id, latest.id if latest else None)
        row = record_for_application(session, archive, programme, app, due, now, line.decision)
        if row is not None:
            recorded.append(row)
    return recorded
