"""The coordinators' daily digest: what the store holds, gathered, then rendered.

``gather_digest`` reads one session at one ``now`` and returns plain values
(``DigestData``); ``render_digest`` turns them into a subject, a plain-text part and an
HTML part (Jinja2 templates in ``notifications/templates``), without touching the store.

Choices a reader should know:

* Applications are listed incomplete first, then complete, then late; within a status,
  in order of first receipt. Structure names are cut to 80 characters on one line.
* The call list (``programme.phone_calls``, shown only during that period) holds the
  applications received in time that COOPCITY may have questions about: incomplete ones
  first, then complete ones with warnings. Late applications are not called.
* A mailbox is « en erreur » when its last poll failed, or when no poll succeeded in the
  last hour (``STALE_AFTER``), or when it was never polled.
* Mails to applicants are listed when abandoned or when their delivery is uncertain
  (possibly received twice), whatever their age: they need a person.
* The decisions warning shows from ``decisions_warning_days`` before the results date to
  the results date itself, while a candidature received in time has no decision.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from config.programme import Programme
from notifications.wording import (
    LOCALE,
    day,
    decision_label,
    missing_labels,
    one_line,
    short_when,
    status_label,
    when,
)
from triage.models import (
    ERREUR,
    OUTBOX_ABANDONED,
    OUTBOX_SENT,
    Application,
    ApplicationVersion,
    Decision,
    MailboxCheckpoint,
    Message,
    OutboxMail,
    Verdict,
)
from triage.verdict import AUTOMATIQUE, COMPLET, HORS_DELAI, INCOMPLET, NON_CANDIDATURE

DIGEST_KIND = "digest"  # OutboxMail.kind of the digest itself
STALE_AFTER = dt.timedelta(hours=1)  # a mailbox with no successful poll for this long
DEFAULT_SINCE = dt.timedelta(hours=24)  # « new » when no digest was sent before
STRUCTURE_WIDTH = 80
IN_TIME = (INCOMPLET, COMPLET)  # candidatures that are judged (and called, and decided)
_ORDER = {INCOMPLET: 0, COMPLET: 1, HORS_DELAI: 2}
TEMPLATES = Path(__file__).resolve().parent / "templates"
MAIL_KINDS = {
    "accuse": "accusé de réception",
    "relance": "relance",
    "rappel": "rappel",
    "hors_delai": "réponse hors délai",
    "resultat": "résultat",
    "resultats": "résultat",
}
_NUMBERS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


def period(start: dt.date, end: dt.date) -> str:
    """« du lundi 14 au vendredi 18 septembre 2026 »."""
    if (start.year, start.month) == (end.year, end.month):
        return f"du {format_date(start, 'EEEE d', locale=LOCALE)} au {day(end)}"
    return f"du {day(start)} au {day(end)}"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """« 0 candidature », « 1 candidature », « 2 candidatures » (French: 0 and 1 agree)."""
    return f"{n}\u00a0{singular if n <= 1 else plural_form or singular + 's'}"


# --- what the digest shows --------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    complet: int = 0
    incomplet: int = 0
    hors_delai: int = 0
    total: int = 0  # applications, whatever their status
    automatique: int = 0  # mails: automatic replies (absences, bounces)
    non_candidature: int = 0  # mails: not applications (questions…)


@dataclass(frozen=True)
class Phone:
    display: str  # « 0496 24 65 66 » (no-break spaces), international when not Belgian
    uri: str | None  # « tel:+32496246566 »; None when the number could not be read


@dataclass(frozen=True)
class Referent:
    name: str  # « Prénom Nom », or "" when the dossier names nobody
    phone: Phone | None = None
    email: str | None = None

    @property
    def mailto(self) -> str | None:
        return f"mailto:{self.email}" if self.email and _EMAIL.match(self.email) else None


@dataclass(frozen=True)
class Row:
    """One application, as one row of the table (applicant text as written: templates cut
    and escape it)."""

    id: int
    structure: str
    status: str
    missing: tuple[str, ...]  # labels, for people
    warnings: tuple[str, ...]
    first_received: dt.datetime
    last_received: dt.datetime
    versions: int
    autodiagnostic: float | None  # mean of the self-assessment scores
    referent: Referent
    decision: str | None = None  # the latest decision, one of triage.models.DECISIONS

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def decision_label(self) -> str:
        return decision_label(self.decision)


@dataclass(frozen=True)
class CallList:
    start: dt.date
    end: dt.date
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class MailboxHealth:
    id: str
    address: str
    folder: str | None  # None: never polled
    last_success: dt.datetime | None
    failures: int  # in a row
    last_error: str | None
    next_attempt: dt.datetime | None
    failing: bool

    @property
    def state(self) -> str:
        return "en erreur" if self.failing else "en service"


@dataclass(frozen=True)
class OutboxProblem:
    """A mail to an applicant that a person should look at."""

    kind: str
    recipient: str
    structure: str | None
    abandoned: bool  # refused for good (else: sent, but perhaps twice)
    last_error: str | None
    attempts: int
    at: dt.datetime

    @property
    def kind_label(self) -> str:
        return MAIL_KINDS.get(self.kind, self.kind)

    @property
    def state(self) -> str:
        return "abandonné" if self.abandoned else "remise incertaine (peut-être reçu deux fois)"


@dataclass(frozen=True)
class DecisionsWarning:
    missing: int  # candidatures received in time without a decision
    results_date: dt.date
    days_left: int

    @property
    def text(self) -> str:
        if self.days_left == 0:
            delay = "le jour des résultats"
        elif self.days_left == 1:
            delay = "la veille des résultats"
        else:
            n = self.days_left
            delay = f"à {_NUMBERS[n] if n < len(_NUMBERS) else n} jours des résultats"
        return (
            f"{plural(self.missing, 'candidature')} sans décision {delay} "
            f"({day(self.results_date)})"
        )


@dataclass(frozen=True)
class DigestData:
    programme_id: str
    now: dt.datetime
    since: dt.datetime  # « new » means after this
    counts: Counts
    news: tuple[str, ...]  # one line of French each
    rows: tuple[Row, ...]
    calls: CallList | None  # None outside the call period
    mailboxes: tuple[MailboxHealth, ...]
    outbox: tuple[OutboxProblem, ...]
    unchecked: tuple[str, ...]  # mails the check failed on, one line each
    decisions: DecisionsWarning | None

    @property
    def failing_mailboxes(self) -> tuple[MailboxHealth, ...]:
        return tuple(m for m in self.mailboxes if m.failing)

    @property
    def alerts(self) -> bool:
        return bool(self.failing_mailboxes or self.outbox or self.unchecked or self.decisions)


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


# --- gathering ----------------------------------------------------------------------------


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
    found = session.scalars(query.order_by(moment.desc()).limit(1)).first()
    return found.replace(tzinfo=dt.UTC) if found is not None and found.tzinfo is None else found


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
    decisions = _latest_decisions(session, [a.id for a in applications])
    rows = sorted(
        (_row(a, programme, decisions.get(a.id)) for a in applications),
        key=lambda r: (_ORDER.get(r.status, 3), r.first_received, r.id),
    )
    today = now.astimezone(programme.zone).date()
    return DigestData(
        programme_id=programme.id,
        now=now,
        since=since,
        counts=_counts(session, programme, applications),
        news=tuple(_news(session, programme, applications, since)),
        rows=tuple(rows),
        calls=_calls(programme, rows, today),
        mailboxes=tuple(_mailboxes(session, programme, now)),
        outbox=tuple(_outbox(session, programme)),
        unchecked=tuple(_unchecked(session, programme)),
        decisions=_decisions_warning(programme, rows, today),
    )


def _latest_decisions(session: Session, ids: list[int]) -> dict[int, str]:
    latest: dict[int, str] = {}
    if ids:
        found = session.scalars(
            select(Decision)
            .where(Decision.application_id.in_(ids))
            .order_by(Decision.created_at, Decision.id)
        )
        for decision in found:
            latest[decision.application_id] = decision.decision
    return latest


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
        autodiagnostic=autodiagnostic_mean(programme, fields),
        referent=referent(programme, fields),
        decision=decision,
    )


def autodiagnostic_mean(programme: Programme, fields: dict[str, Any]) -> float | None:
    """The mean of the form's score fields that were answered, or None."""
    scores = [
        fields.get(f.key) for f in programme.form.fields() if f.type == "score"
    ]  # fmt: skip
    numbers = [s for s in scores if isinstance(s, int | float) and not isinstance(s, bool)]
    return sum(numbers) / len(numbers) if numbers else None


def referent(programme: Programme, fields: dict[str, Any]) -> Referent:
    """The contact person: the section of the form's first phone field gives their name
    (``…prenom``, ``…nom`` or ``…contact``), phone and e-mail."""
    specs = list(programme.form.fields())
    phone_spec = next((f for f in specs if f.type == "phone"), None)
    section = phone_spec.key.rsplit(".", 1)[0] + "." if phone_spec else ""
    names = []
    for suffix in ("prenom", "nom", "contact"):
        value = fields.get(f"{section}{suffix}") if section else None
        if isinstance(value, str) and value.strip():
            names.append(one_line(value, 60))
    email_spec = next(
        (f for f in specs if f.type == "email" and f.key.startswith(section)), None
    )  # fmt: skip
    email = fields.get(email_spec.key) if email_spec else None
    raw_phone = fields.get(phone_spec.key) if phone_spec else None
    return Referent(
        name=" ".join(names),
        phone=phone(raw_phone) if isinstance(raw_phone, str) else None,
        email=one_line(email, STRUCTURE_WIDTH) if isinstance(email, str) and email else None,
    )


def phone(number: str) -> Phone | None:
    """An E.164 number for people: Belgian numbers in national format (« 0496 24 65 66 »),
    others in international format; what cannot be read is shown as written."""
    if not number.strip():
        return None
    try:
        parsed = phonenumbers.parse(number, "BE")
    except phonenumbers.NumberParseException:
        return Phone(display=one_line(number, 40), uri=None)
    belgian = parsed.country_code == 32
    style = phonenumbers.PhoneNumberFormat.NATIONAL if belgian else None
    display = phonenumbers.format_number(
        parsed, style or phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(display=display.replace(" ", "\u00a0"), uri=f"tel:{e164}")


def _counts(session: Session, programme: Programme, applications: Iterable[Application]) -> Counts:
    statuses = [a.status for a in applications]
    mails = dict(
        session.execute(
            select(Message.status, func.count())
            .where(
                Message.programme_id == programme.id,
                Message.status.in_((AUTOMATIQUE, NON_CANDIDATURE)),
            )
            .group_by(Message.status)
        ).all()
    )
    return Counts(
        complet=statuses.count(COMPLET),
        incomplet=statuses.count(INCOMPLET),
        hors_delai=statuses.count(HORS_DELAI),
        total=len(statuses),
        automatique=mails.get(AUTOMATIQUE, 0),
        non_candidature=mails.get(NON_CANDIDATURE, 0),
    )


def _news(
    session: Session,
    programme: Programme,
    applications: list[Application],
    since: dt.datetime,
) -> list[str]:
    """New applications, applications judged again, and mails to read, since ``since``."""
    lines = []
    new = sorted((a for a in applications if a.created_at > since), key=_received)
    for a in new:
        lines.append(f"Nouvelle candidature : {_name(a)} – {_verdict(programme, a)}")
    history = _verdict_history(session, [a.id for a in applications if a.created_at <= since])
    for a in sorted(applications, key=_received):
        verdicts = history.get(a.id, [])
        before = [v for v in verdicts if v.created_at <= since]
        if not before or not any(v.created_at > since for v in verdicts):
            continue
        was = before[-1]
        if was.status != a.status:
            lines.append(
                f"{_name(a)} : {status_label(was.status)} → {_verdict(programme, a)}"
            )  # fmt: skip
        elif list(was.missing or []) != list(a.missing or []):
            missing = ", ".join(
                one_line(m, 70) for m in missing_labels(programme, list(a.missing or []))
            )
            lines.append(
                f"{_name(a)} : toujours {status_label(a.status).lower()}, manque désormais : "
                + (missing or "rien")
            )
        elif list(was.warnings or []) != list(a.warnings or []):
            lines.append(f"{_name(a)} : points à vérifier modifiés")
    others = session.scalars(
        select(Message)
        .where(
            Message.programme_id == programme.id,
            Message.created_at > since,
            Message.status.in_((AUTOMATIQUE, NON_CANDIDATURE)),
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
    to_check = [r for r in rows if r.status == COMPLET and r.warnings]
    return CallList(start=period.start, end=period.end, rows=tuple(incomplete + to_check))


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
                spec.id, spec.address, None, None, 0, "jamais relevée", None, failing=True
            )  # fmt: skip
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


# --- rendering ----------------------------------------------------------------------------

_BADGES = {
    COMPLET: ("#14532d", "#dcfce7"),
    INCOMPLET: ("#7c2d12", "#ffedd5"),
    HORS_DELAI: ("#7f1d1d", "#fee2e2"),
    "en service": ("#14532d", "#dcfce7"),  # MailboxHealth.state
    "en erreur": ("#7f1d1d", "#fee2e2"),
}
_FRENCH_SPACES = (
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
    (re.compile(r" :(?=\s|$)", re.MULTILINE), "\u00a0:"),
    (re.compile(r" ([;!?])(?=\s|$)", re.MULTILINE), "\u202f\\1"),
)


def french_spacing(text: str) -> str:
    """No-break spaces inside « » and before : ; ! ? (French typography)."""
    for pattern, replacement in _FRENCH_SPACES:
        text = pattern.sub(replacement, text)
    return text


def _decimal(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


def _wrap(text: str, first: str = "  ", rest: str = "    ", width: int = 78) -> str:
    return textwrap.fill(
        one_line(text, 2000) or "—",
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
    )


def _badge(status: str) -> str:
    colour, background = _BADGES.get(status, ("#374151", "#e5e7eb"))
    return (
        f"background:{background};color:{colour};border-radius:3px;padding:2px 6px;"
        "font-size:12px;font-weight:bold;white-space:nowrap"
    )


@cache
def environment() -> Environment:
    """The digest's Jinja2 environment: HTML templates escaped, undefined names fail."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cut=lambda text, limit=STRUCTURE_WIDTH: one_line(text, limit) or "—",
        decimal=_decimal,
        wrap=_wrap,
        badge=_badge,
    )
    return env


def subject(data: DigestData, programme: Programme, *, final: bool = False) -> str:
    """« Guichet BLOSSOM 2026-2027 – point du lundi 7 septembre 2026 : 12 candidatures,
    5 complètes »; « … – clôture : … » for the closing digest."""
    moment = "clôture" if final else f"point du {day(data.now.astimezone(programme.zone).date())}"
    counts = data.counts
    return french_spacing(
        f"Guichet {programme.name} – {moment} : {plural(counts.total, 'candidature')}, "
        f"{plural(counts.complet, 'complète')}"
    )


def render_digest(
    data: DigestData,
    programme: Programme,
    *,
    final: bool = False,
    attachment: str | None = None,
) -> RenderedDigest:
    """The digest as a mail: subject, plain text and HTML. ``attachment`` names the export
    joined to it, if any; ``final`` makes it the closing digest of the deadline day."""
    title = subject(data, programme, final=final)
    context = {
        "data": data,
        "programme": programme,
        "final": final,
        "attachment": attachment,
        "title": title,
        "when": lambda moment: when(moment, programme),
        "short_when": lambda moment: short_when(moment, programme),
        "day": day,
        "period": period,
        "plural": plural,
        "deadline": programme.deadline_at,
    }
    env = environment()
    text = env.get_template("digest.txt.j2").render(context)
    html = env.get_template("digest.html.j2").render(context)
    return RenderedDigest(subject=title, text=french_spacing(text), html=french_spacing(html))


def build_digest(
    session: Session,
    programme: Programme,
    now: dt.datetime,
    *,
    final: bool = False,
    attachment: str | None = None,
) -> RenderedDigest:
    """Gather (new since the last digest sent) and render, at ``now``."""
    data = gather_digest(session, programme, now)
    return render_digest(data, programme, final=final, attachment=attachment)
