"""Gathering the digest: what one session holds at one ``now``, as ``DigestData``.

Functions take a ``Session`` and never commit. See ``notifications.digest`` for the
choices (order of the rows, the call list, when a mailbox is « en erreur »…).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from config.programme import Programme
from notifications.digest.model import (
    STRUCTURE_WIDTH,
    CallList,
    Counts,
    DecisionsWarning,
    DigestData,
    MailboxHealth,
    OutboxProblem,
    Row,
    plural,
)
from notifications.outbox import writable
from notifications.people import referent
from notifications.plan import DIGEST
from notifications.wording import missing_labels, one_line, status_label, to_check
from triage.decisions import current_decisions
from triage.export import score_mean
from triage.messages import pending_messages
from triage.models import (
    ERREUR,
    ROLE_MESSAGE,
    OUTBOX_ABANDONED,
    OUTBOX_SENT,
    Application,
    ApplicationVersion,
    MailboxCheckpoint,
    Message,
    OutboxMail,
    Verdict,
)
from triage.verdict import (
    AUTOMATIQUE,
    COMPLET,
    HORS_DELAI,
    INCOMPLET,
    NON_CANDIDATURE,
    flagged,
    required_unread,
)

DIGEST_KIND = DIGEST  # OutboxMail.kind of the digest itself
STALE_AFTER = dt.timedelta(hours=1)  # a mailbox with no successful poll for this long
DEFAULT_SINCE = dt.timedelta(hours=24)  # « new » when no digest was sent before
IN_TIME = (INCOMPLET, COMPLET)  # candidatures that are judged (and called, and decided)
_ORDER = {INCOMPLET: 0, COMPLET: 1, HORS_DELAI: 2}
# messages on an application are listed in « Messages à lire », not as other mails
_not_a_message = or_(Message.role.is_(None), Message.role != ROLE_MESSAGE)


def last_digest_at(
    session: Session, programme_id: str, before: dt.datetime | None = None
) -> dt.datetime | None:
    """When the last digest of the programme was actually sent (before ``before``)."""
    moment = func.coalesce(OutboxMail.sent_at, OutboxMail.created_at)
    query = select(moment).where(
        OutboxMail.kind == DIGEST_KIND,
        OutboxMail.state == OUTBOX_SENT,
        OutboxMail.key.startswith(f"{DIGEST_KIND}:{programme_id}:", autoescape=True),
    )
    if before is not None:
        query = query.where(moment < before)
    return session.scalars(query.order_by(moment.desc()).limit(1)).first()


def digest_since(session: Session, programme_id: str, now: dt.datetime) -> dt.datetime:
    """The last digest sent before ``now``, else 24 hours before ``now``."""
    return last_digest_at(session, programme_id, before=now) or now - DEFAULT_SINCE


def digest_key(programme: Programme, now: dt.datetime, *, final: bool = False) -> str:
    """The outbox key of a digest: one per programme and local day, and one closing digest."""
    today = now.astimezone(programme.zone).date().isoformat()
    return f"{DIGEST_KIND}:{programme.id}:{today}" + (":cloture" if final else "")


def gather_digest(
    session: Session, programme: Programme, now: dt.datetime, since: dt.datetime | None = None
) -> DigestData:
    """Everything the digest shows, read at ``now``; ``since`` defaults to ``digest_since``."""
    since = since or digest_since(session, programme.id, now)
    applications = session.scalars(
        select(Application)
        .where(Application.programme_id == programme.id)
        .options(
            selectinload(Application.versions)
            .selectinload(ApplicationVersion.message)
            .selectinload(Message.parsed)
        )
    ).all()
    decisions = current_decisions(session, programme.id)
    rows = sorted(
        (_row(a, programme, decisions.get(a.id)) for a in applications),
        key=lambda r: (_ORDER.get(r.status, 3), r.first_received, r.id),
    )
    today = now.astimezone(programme.zone).date()
    messages = [m for m in pending_messages(session, programme.id) if m.received_at <= now]
    return DigestData(
        programme_id=programme.id,
        now=now,
        since=since,
        counts=replace(_counts(session, programme, applications), messages=len(messages)),
        news=tuple(_news(session, programme, applications, since, now)),
        rows=tuple(rows),
        calls=_calls(programme, rows, today),
        mailboxes=tuple(_mailboxes(session, programme, now)),
        outbox=tuple(_outbox(session, programme)),
        unchecked=tuple(_unchecked(session, programme)),
        unreachable=tuple(
            f"{_name(a)} : adresse de réponse inutilisable ({one_line(a.reply_to, 80) or 'aucune'}),"
            " aucun courriel ne lui part"
            for a in applications
            if a.status in IN_TIME + (HORS_DELAI,) and not writable(a.reply_to, programme)
        ),
        decisions=_decisions_warning(programme, rows, today),
        messages=tuple(messages),
    )


def _row(application: Application, programme: Programme, decision: str | None) -> Row:
    version = application.current_version
    parsed = version.message.parsed if version is not None else None
    fields: dict[str, Any] = parsed.fields if parsed is not None else {}
    return Row(
        id=application.id,
        structure=application.structure or application.sender or "structure inconnue",
        status=application.status,
        missing=tuple(missing_labels(programme, list(application.missing or []))),
        warnings=tuple(str(w) for w in application.warnings or []),
        first_received=application.first_received_at,
        last_received=application.last_received_at,
        versions=len(application.versions),
        autodiagnostic=score_mean(programme, fields),
        referent=referent(programme, fields),
        decision=decision,
        to_check=tuple(to_check(application, programme)),
    )


def _counts(session: Session, programme: Programme, applications: Iterable[Application]) -> Counts:
    applications = list(applications)
    statuses = [a.status for a in applications]
    mails = dict(
        session.execute(
            select(Message.status, func.count())
            .where(
                Message.programme_id == programme.id,
                Message.status.in_((AUTOMATIQUE, NON_CANDIDATURE)),
                _not_a_message,
            )
            .group_by(Message.status)
        ).all()
    )
    return Counts(
        complet=statuses.count(COMPLET),
        incomplet=statuses.count(INCOMPLET),
        hors_delai=statuses.count(HORS_DELAI),
        total=len(statuses),
        to_check=sum(
            1
            for a in applications
            if required_unread(a.unread or [], programme) or flagged(a.warnings or [])
        ),
        automatique=mails.get(AUTOMATIQUE, 0),
        non_candidature=mails.get(NON_CANDIDATURE, 0),
    )


def _news(
    session: Session,
    programme: Programme,
    applications: list[Application],
    since: dt.datetime,
    now: dt.datetime,
) -> list[str]:
    """New applications, applications judged again, and mails to read, between ``since``
    and ``now`` (a preview of a past day leaves out what came later)."""
    lines = []
    new = sorted((a for a in applications if since < a.created_at <= now), key=_received)
    for a in new:
        lines.append(f"Nouvelle candidature : {_name(a)} – {_verdict(programme, a)}")
    history = _verdict_history(session, [a.id for a in applications if a.created_at <= since])
    for a in sorted(applications, key=_received):
        verdicts = history.get(a.id, [])
        before = [v for v in verdicts if v.created_at <= since]
        if not before or not any(since < v.created_at <= now for v in verdicts):
            continue
        was = before[-1]
        if was.status != a.status:
            lines.append(f"{_name(a)} : {status_label(was.status)} → {_verdict(programme, a)}")
        elif list(was.missing or []) != list(a.missing or []):
            missing = ", ".join(
                one_line(m, 70) for m in missing_labels(programme, list(a.missing or []))
            )
            lines.append(
                f"{_name(a)} : toujours {status_label(a.status).lower()}, manque désormais : "
                + (missing or "rien")
            )
        elif list(was.warnings or []) != list(a.warnings or []) or list(
            was.unread or []
        ) != list(a.unread or []):
            lines.append(f"{_name(a)} : points à vérifier modifiés")
    others = session.scalars(
        select(Message)
        .where(
            Message.programme_id == programme.id,
            Message.created_at > since,
            Message.created_at <= now,
            Message.status.in_((AUTOMATIQUE, NON_CANDIDATURE)),
            _not_a_message,
        )
        .order_by(Message.received_at, Message.id)
    ).all()
    for m in others:
        if m.status == NON_CANDIDATURE:
            lines.append(f"Courriel à lire (pas une candidature) : {_mail(m)}")
    automatic = sum(1 for m in others if m.status == AUTOMATIQUE)
    if automatic:
        lines.append(
            f"{plural(automatic, 'réponse automatique', 'réponses automatiques')} "
            "(absence, erreur de remise) classée" + ("s" if automatic > 1 else "")
        )
    return lines


def _mail(message: Message) -> str:
    """« Objet » de expéditeur, for one line."""
    subject = one_line(message.subject, 80) or "sans objet"
    return f"« {subject} » de {one_line(message.sender, 80) or 'expéditeur inconnu'}"


def _received(application: Application) -> tuple[dt.datetime, int]:
    return (application.first_received_at, application.id)


def _name(application: Application) -> str:
    return one_line(application.structure or application.sender, STRUCTURE_WIDTH) or "—"


def _verdict(programme: Programme, application: Application) -> str:
    label = status_label(application.status)
    missing = [one_line(m, 70) for m in missing_labels(programme, list(application.missing or []))]
    return label + (f" (manque : {', '.join(missing)})" if missing else "")


def _verdict_history(session: Session, ids: list[int]) -> dict[int, list[Verdict]]:
    history: dict[int, list[Verdict]] = defaultdict(list)
    if ids:
        found = session.scalars(
            select(Verdict)
            .where(Verdict.application_id.in_(ids))
            .order_by(Verdict.created_at, Verdict.id)
        )
        for verdict in found:
            history[verdict.application_id or 0].append(verdict)
    return history


def _calls(programme: Programme, rows: list[Row], today: dt.date) -> CallList | None:
    period = programme.phone_calls
    if period is None or not period.start <= today <= period.end:
        return None
    incomplete = [r for r in rows if r.status == INCOMPLET]
    questions = [r for r in rows if r.status == COMPLET and (r.warnings or r.to_check)]
    return CallList(start=period.start, end=period.end, rows=tuple(incomplete + questions))


def _mailboxes(session: Session, programme: Programme, now: dt.datetime) -> Iterable[MailboxHealth]:
    addresses = [m.address.strip().lower() for m in programme.mailboxes]
    points: dict[str, list[MailboxCheckpoint]] = defaultdict(list)
    if addresses:
        found = session.scalars(
            select(MailboxCheckpoint)
            .where(MailboxCheckpoint.account.in_(addresses))
            .order_by(MailboxCheckpoint.folder)
        )
        for point in found:
            points[point.account].append(point)
    for spec, address in zip(programme.mailboxes, addresses, strict=True):
        if not points[address]:
            yield MailboxHealth(
                id=spec.id,
                address=spec.address,
                folder=None,
                last_success=None,
                failures=0,
                last_error="jamais relevée",
                next_attempt=None,
                failing=True,
            )
        for point in points[address]:
            success = point.last_success_at
            yield MailboxHealth(
                id=spec.id,
                address=spec.address,
                folder=point.folder,
                last_success=success,
                failures=point.failures,
                last_error=one_line(point.last_error, 200) or None,
                next_attempt=point.next_attempt_at,
                failing=point.failures > 0 or success is None or now - success > STALE_AFTER,
            )


def _outbox(session: Session, programme: Programme) -> Iterable[OutboxProblem]:
    found = session.execute(
        select(OutboxMail, Application.structure)
        .join(Application, OutboxMail.application_id == Application.id)
        .where(
            Application.programme_id == programme.id,
            OutboxMail.kind != DIGEST_KIND,
            or_(OutboxMail.state == OUTBOX_ABANDONED, OutboxMail.uncertain.is_(True)),
        )
        .order_by(OutboxMail.created_at, OutboxMail.id)
    ).all()
    for mail, structure in found:
        yield OutboxProblem(
            kind=mail.kind,
            recipient=one_line(mail.recipient, STRUCTURE_WIDTH),
            structure=one_line(structure, STRUCTURE_WIDTH) or None,
            abandoned=mail.state == OUTBOX_ABANDONED,
            last_error=one_line(mail.last_error, 200) or None,
            attempts=mail.attempts,
            at=mail.sent_at or mail.sending_at or mail.created_at,
        )


def _unchecked(session: Session, programme: Programme) -> Iterable[str]:
    found = session.scalars(
        select(Message)
        .where(Message.programme_id == programme.id, Message.state == ERREUR)
        .order_by(Message.received_at, Message.id)
    )
    for m in found:
        yield f"{_mail(m)} : {one_line(m.reason, 160) or 'erreur inconnue'}"


def _decisions_warning(
    programme: Programme, rows: list[Row], today: dt.date
) -> DecisionsWarning | None:
    results = programme.results_date
    if results is None:
        return None
    days_left = (results - today).days
    if not 0 <= days_left <= programme.notifications.decisions_warning_days:
        return None
    missing = sum(1 for r in rows if r.status in IN_TIME and r.decision is None)
    return DecisionsWarning(missing, results, days_left) if missing else None
