"""What the desk and ``guichet list`` / ``guichet show`` show: plain values read from the store.

``list_rows`` gives one ``ListRow`` per application, filtered, searched and sorted as a
coordinator asks (``Query``); ``counts`` the figures at the top, as the digest counts
them. ``application_view`` gives one application: its fields in the form's order with
their state, its verdict, annexes, files and the timeline of every mail in and out.
Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.programme import Programme
from notifications.wording import (
    decision_label,
    in_form_order,
    missing_label,
    one_line,
    status_label,
    to_check,
)
from triage.corrections import ANNEX, FIELD, latest_corrections
from triage.decisions import display_structure
from triage.messages import DEALT, PendingMessage, pending_messages
from triage.models import (
    RETIRE,
    Application,
    ApplicationVersion,
    Attachment,
    Correction,
    Decision,
    Event,
    Message,
    OutboxMail,
    ParsedDossier,
)
from triage.review import annex_choices, file_kind
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET, flagged

STATUSES = (INCOMPLET, COMPLET, HORS_DELAI, RETIRE)
NO_DECISION = "aucune"
SORTS = ("recu", "structure", "statut", "decision")
FILLED, BLANK, UNREAD = "rempli", "vide", "illisible"
STATE_LABELS = {FILLED: "rempli", BLANK: "vide", UNREAD: "non lu"}
_STATUS_ORDER = {INCOMPLET: 0, COMPLET: 1, HORS_DELAI: 2, RETIRE: 3}


@dataclass(frozen=True)
class Query:
    """What a coordinator asks of the list; every part optional."""

    status: str | None = None
    to_check: bool = False
    missing: str | None = None  # a key of ``missing`` (``annexe.cv``, a field)
    decision: str | None = None  # one of DECISIONS, or NO_DECISION
    received_from: dt.date | None = None  # local dates, inclusive
    received_to: dt.date | None = None
    search: str | None = None  # structure, person, e-mail, enterprise number
    messages: bool = False  # only applications with an applicant's message to read
    sort: str = "recu"
    descending: bool = False


@dataclass(frozen=True)
class ListRow:
    id: int
    structure: str
    status: str
    overridden: bool
    to_check: bool
    missing: tuple[str, ...]  # keys
    missing_labels: tuple[str, ...]
    decision: str | None
    note: str | None
    first_received: dt.datetime
    last_received: dt.datetime
    person: str
    email: str
    enterprise_number: str
    versions: int
    haystack: str = field(repr=False, default="")  # folded text a search looks in
    messages: int = 0  # the applicant's messages no coordinator has dealt with yet

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def decision_label(self) -> str:
        return decision_label(self.decision) if self.decision else "—"


@dataclass(frozen=True)
class Counts:
    total: int
    complet: int
    incomplet: int
    hors_delai: int
    retire: int
    to_check: int
    decided: int
    messages: int = 0  # applicants' messages to read


@dataclass(frozen=True)
class _Decided:
    decision: str
    note: str | None


def _latest_decisions(session: Session, programme_id: str) -> dict[int, _Decided]:
    found: dict[int, _Decided] = {}
    for app_id, decision, note in session.execute(
        select(Decision.application_id, Decision.decision, Decision.note)
        .join(Application, Application.id == Decision.application_id)
        .where(Application.programme_id == programme_id)
        .order_by(Decision.created_at, Decision.id)
    ):
        found[app_id] = _Decided(decision, note)
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class _Keys:
    """What the list needs of the programme, found once: the contact person's names and
    e-mail (as ``notifications.people.referent`` finds them: the section of the form's
    first phone field), the enterprise number, the required fields, the form's order."""

    names: tuple[str, ...]
    email: str | None
    numbers: tuple[str, ...]
    required: frozenset[str] = frozenset()
    order: dict[str, int] = field(default_factory=dict)  # missing key -> rank to show it

    @property
    def all(self) -> list[str]:
        return [*self.names, *([self.email] if self.email else []), *self.numbers]


def _keys(programme: Programme) -> _Keys:
    specs = list(programme.form.fields())
    phone = next((f for f in specs if f.type == "phone"), None)
    section = phone.key.rsplit(".", 1)[0] + "." if phone else ""
    keys = {f.key for f in specs}
    names = tuple(
        f"{section}{suffix}"
        for suffix in ("prenom", "nom", "contact")
        if section and f"{section}{suffix}" in keys
    )
    email = next((f.key for f in specs if f.type == "email" and f.key.startswith(section)), None)
    numbers = tuple(f.key for f in specs if f.type == "enterprise_number")
    ranked = in_form_order(
        programme, [f.key for f in specs] + [f"annexe.{a.key}" for a in programme.annexes]
    )
    order = {k: i for i, k in enumerate(ranked)}
    required = frozenset(f.key for f in specs if f.required)
    return _Keys(names, email, numbers, required, order)


def _plain(text: str) -> str:
    """Lower case without accents, for searching (cheaper than ``fold``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _row(
    app: Any,  # an Application, or a row of its columns
    programme: Programme,
    decision: Decision | _Decided | None,
    fields: dict[str, Any],
    versions: int,
    keys: _Keys,
    labels: dict[str, str],
) -> ListRow:
    person = " ".join(
        one_line(_text(fields.get(k)), 60) for k in keys.names if _text(fields.get(k)).strip()
    )
    email = one_line(_text(fields.get(keys.email)), 120) if keys.email else ""
    number = next((_text(fields.get(k)) for k in keys.numbers if fields.get(k)), "")
    structure = display_structure(app)
    missing = tuple(app.missing or ())
    for key in missing:
        if key not in labels:
            labels[key] = missing_label(programme, key)
    digits = "".join(ch for ch in number if ch.isdigit())
    return ListRow(
        id=app.id,
        structure=structure,
        status=app.status,
        overridden=bool(app.status_override),
        to_check=bool(
            any(k in keys.required for k in app.unread or []) or flagged(app.warnings or [])
        ),
        missing=missing,
        missing_labels=tuple(
            labels[k] for k in sorted(missing, key=lambda k: (keys.order.get(k, -1), k))
        ),
        decision=decision.decision if decision else None,
        note=decision.note if decision else None,
        first_received=app.first_received_at,
        last_received=app.last_received_at,
        person=person,
        email=email,
        enterprise_number=number,
        versions=versions,
        haystack=_plain(
            " ".join([structure, person, email, app.sender or "", app.reply_to or "", number])
        )
        + " "
        + digits,
    )


def all_rows(session: Session, programme: Programme) -> list[ListRow]:
    """Every application of ``programme`` as a row. Only the few fields the list shows are
    read from the dossiers (in SQL), not whole dossiers: a thousand stay quick."""
    applications = session.execute(  # columns, not objects: a thousand stay quick
        select(
            Application.id, Application.structure, Application.sender, Application.reply_to,
            Application.status, Application.status_override, Application.missing,
            Application.unread, Application.warnings, Application.first_received_at,
            Application.last_received_at,
        ).where(Application.programme_id == programme.id)
    ).all()  # fmt: skip
    keys = _keys(programme)
    wanted = keys.all
    fields: dict[int, dict[str, Any]] = {}
    if wanted:
        found = session.execute(
            select(
                ApplicationVersion.application_id,
                *(ParsedDossier.fields[k].as_string() for k in wanted),
            )
            .join(ParsedDossier, ParsedDossier.message_id == ApplicationVersion.message_id)
            .join(Application, Application.id == ApplicationVersion.application_id)
            .where(Application.programme_id == programme.id, ApplicationVersion.counts.is_(True))
        )
        for app_id, *values in found:
            fields[app_id] = dict(zip(wanted, values, strict=True))
    versions = dict(
        session.execute(
            select(ApplicationVersion.application_id, func.count())
            .join(Application, Application.id == ApplicationVersion.application_id)
            .where(Application.programme_id == programme.id)
            .group_by(ApplicationVersion.application_id)
        ).all()
    )
    decisions = _latest_decisions(session, programme.id)
    labels: dict[str, str] = {}
    waiting = Counter(m.application_id for m in pending_messages(session, programme.id))
    rows = [
        _row(
            a,
            programme,
            decisions.get(a.id),
            fields.get(a.id, {}),
            versions.get(a.id, 0),
            keys,
            labels,
        )
        for a in applications
    ]
    return [replace(r, messages=waiting[r.id]) if waiting[r.id] else r for r in rows]


def _matches(row: ListRow, query: Query, programme: Programme) -> bool:
    if query.status and row.status != query.status:
        return False
    if query.to_check and not row.to_check:
        return False
    if query.messages and not row.messages:
        return False
    if query.missing and query.missing not in row.missing:
        return False
    if query.decision == NO_DECISION and row.decision is not None:
        return False
    if query.decision and query.decision != NO_DECISION and row.decision != query.decision:
        return False
    received = row.first_received.astimezone(programme.zone).date()
    if query.received_from and received < query.received_from:
        return False
    if query.received_to and received > query.received_to:
        return False
    if query.search:
        words = _plain(query.search).split()
        digits = "".join(ch for ch in query.search if ch.isdigit())
        found = all(w in row.haystack for w in words) or (
            len(digits) >= 4 and digits in row.haystack
        )
        if not found:
            return False
    return True


def _sort_key(row: ListRow, sort: str) -> tuple[Any, ...]:
    if sort == "structure":
        return (_plain(row.structure), row.id)
    if sort == "statut":
        return (_STATUS_ORDER.get(row.status, 9), not row.to_check, row.first_received, row.id)
    if sort == "decision":
        return (row.decision or "~", _plain(row.structure), row.id)
    return (row.first_received, row.id)


def select_rows(rows: list[ListRow], query: Query, programme: Programme) -> list[ListRow]:
    """The rows ``query`` asks for, sorted as it asks."""
    found = [r for r in rows if _matches(r, query, programme)]
    sort = query.sort if query.sort in SORTS else "recu"
    return sorted(found, key=lambda r: _sort_key(r, sort), reverse=query.descending)


def list_rows(session: Session, programme: Programme, query: Query = Query()) -> list[ListRow]:
    """The applications ``query`` asks for, sorted."""
    return select_rows(all_rows(session, programme), query, programme)


def counts(rows: list[ListRow]) -> Counts:
    statuses = [r.status for r in rows]
    return Counts(
        total=len(rows),
        complet=statuses.count(COMPLET),
        incomplet=statuses.count(INCOMPLET),
        hors_delai=statuses.count(HORS_DELAI),
        retire=statuses.count(RETIRE),
        to_check=sum(r.to_check for r in rows),
        decided=sum(r.decision is not None for r in rows),
        messages=sum(r.messages for r in rows),
    )


def missing_choices(programme: Programme, rows: list[ListRow]) -> list[tuple[str, str]]:
    """(key, label) of every item missing from at least one application, annexes first."""
    keys = sorted(
        {k for r in rows for k in r.missing}, key=lambda k: (not k.startswith("annexe."), k)
    )
    return [(k, missing_label(programme, k)) for k in keys]


# --- one application ---------------------------------------------------------------------


@dataclass(frozen=True)
class FieldLine:
    key: str
    section: str
    label: str
    required: bool
    state: str  # FILLED, BLANK, UNREAD
    value: str  # as it counts (corrected or read)
    raw: str | None  # the text found when it could not be read
    read: str | None  # what was read, when a correction replaced it
    corrected_by: str | None = None
    corrected_at: dt.datetime | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class FileLine:
    id: int
    message_id: int
    filename: str
    size: int
    role: str
    kind: str  # annex key as it counts (corrections applied), ``autres`` when none
    kind_label: str
    corrected: bool


@dataclass(frozen=True)
class AnnexLine:
    key: str
    label: str
    required: bool
    files: tuple[str, ...]
    missing: bool


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    direction: str  # "recu", "envoye", "note"
    title: str
    detail: str
    files: tuple[FileLine, ...] = ()
    message_id: int | None = None
    outbox_id: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class ApplicationView:
    row: ListRow
    reply_to: str | None
    computed_status: str | None  # when a coordinator gave another one
    override_reason: str | None
    override_by: str | None
    override_at: dt.datetime | None
    warnings: tuple[str, ...]
    to_check: tuple[str, ...]
    fields: tuple[FieldLine, ...]
    annexes: tuple[AnnexLine, ...]
    files: tuple[FileLine, ...]
    timeline: tuple[TimelineItem, ...]
    dossier: FileLine | None  # the file of the dossier that counts
    decisions: tuple[Decision, ...]
    pending: tuple[PendingMessage, ...] = ()  # the applicant's messages to read, oldest first


OUTBOX_STATE_LABELS = {
    "enregistre": "en attente d’envoi",
    "envoi": "en cours d’envoi",
    "envoye": "envoyé",
    "abandonne": "abandonné",
}
KIND_LABELS = {
    "accuse": "Accusé de réception",
    "complement": "Réponse à un complément",
    "hors_delai": "Réponse hors délai",
    "relance": "Relance",
    "rappel": "Rappel",
    "resultat": "Résultat",
    "revue": "Dossier relu",
    "message_recu": "Accusé d’un message",
}


def _field_lines(
    session: Session, programme: Programme, message: Message | None
) -> list[FieldLine]:
    parsed = message.parsed if message is not None else None
    fields = dict(parsed.fields) if parsed is not None else {}
    unread = set(parsed.unread or []) if parsed is not None else set()
    raw = dict(parsed.unread_raw or {}) if parsed is not None else {}
    fixes = latest_corrections(session, [message.id]) if message is not None else {}
    lines = []
    for section in programme.form.sections:
        for spec in section.fields:
            read = _text(fields.get(spec.key))
            fix = fixes.get((message.id, FIELD, spec.key)) if message is not None else None
            if fix is not None:
                value = fix.after or ""
                state = FILLED if value else BLANK
            else:
                value = read
                state = UNREAD if spec.key in unread else FILLED if read else BLANK
            lines.append(
                FieldLine(
                    key=spec.key,
                    section=getattr(section, "title", None) or getattr(section, "id", ""),
                    label=spec.title or spec.label or spec.key,
                    required=spec.required,
                    state=state,
                    value=value,
                    raw=raw.get(spec.key) if state == UNREAD else None,
                    read=(read or "—") if fix is not None else None,
                    corrected_by=fix.by if fix is not None else None,
                    corrected_at=fix.created_at if fix is not None else None,
                )
            )
    return lines


def _file_line(session: Session, a: Attachment, labels: dict[str, str], fixed: set) -> FileLine:
    kind = file_kind(session, a) if a.role != "dossier" else "dossier"
    return FileLine(
        id=a.id,
        message_id=a.message_id,
        filename=a.filename,
        size=a.size,
        role=a.role,
        kind=kind,
        kind_label="Dossier de candidature" if kind == "dossier" else labels.get(kind, kind),
        corrected=(a.message_id, ANNEX, a.filename) in fixed,
    )


def application_view(
    session: Session, programme: Programme, application: Application
) -> ApplicationView:
    from triage.application import combine
    from triage.filing import CANDIDATURE, contribution

    decisions = list(
        session.scalars(
            select(Decision)
            .where(Decision.application_id == application.id)
            .order_by(Decision.created_at, Decision.id)
        )
    )
    version = application.current_version
    counting = version.message if version is not None else None
    read = dict(counting.parsed.fields) if counting is not None and counting.parsed else {}
    row = _row(
        application, programme, decisions[-1] if decisions else None,
        {k: _text(v) for k, v in read.items()}, len(application.versions), _keys(programme), {},
    )  # fmt: skip
    messages = sorted(application.messages, key=lambda m: (m.received_at, m.id))
    labels = dict(annex_choices(programme))
    fixed = set(latest_corrections(session, [m.id for m in messages]))
    files_by_mail = {
        m.id: tuple(_file_line(session, a, labels, fixed) for a in m.attachments) for m in messages
    }
    files = tuple(f for m in messages for f in files_by_mail[m.id])
    dossier = (
        next((f for f in files_by_mail.get(counting.id, ()) if f.role == "dossier"), None)
        if counting is not None
        else None
    )
    annexes = tuple(
        AnnexLine(
            key=spec.key,
            label=spec.label,
            required=spec.required,
            files=tuple((application.annexes or {}).get(spec.key, [])),
            missing=f"annexe.{spec.key}" in (application.missing or []),
        )
        for spec in programme.annexes
    )
    computed = None
    if application.status_override:
        mails = [m for m in messages if m.status in CANDIDATURE]
        found = [c for c in (contribution(session, m) for m in mails) if c is not None]
        computed = combine(found, programme).status if found else None
    timeline: list[TimelineItem] = []
    for m in messages:
        timeline.append(
            TimelineItem(
                at=m.received_at,
                direction="recu",
                title=one_line(m.subject, 200) or "(sans objet)",
                detail=f"de {m.sender or 'expéditeur inconnu'} – {status_label(m.status)}",
                files=files_by_mail[m.id],
                message_id=m.id,
            )
        )
    for out in session.scalars(
        select(OutboxMail).where(OutboxMail.application_id == application.id)
    ):
        timeline.append(
            TimelineItem(
                at=out.sent_at or out.created_at,
                direction="envoye",
                title=one_line(out.subject, 200),
                detail=f"{KIND_LABELS.get(out.kind, out.kind)} à {out.recipient} – "
                f"{OUTBOX_STATE_LABELS.get(out.state, out.state)}"
                + (f" ({one_line(out.last_error, 120)})" if out.last_error else ""),
                outbox_id=out.id,
                state=out.state,
            )
        )
    for event in session.scalars(
        select(Event).where(
            Event.application_id == application.id,
            Event.kind.in_(("correction", "statut_force", "retrait", "decision", DEALT)),
        )
    ):
        timeline.append(TimelineItem(at=event.at, direction="note", title=event.detail, detail=""))
    timeline.sort(key=lambda t: t.at)
    return ApplicationView(
        row=row,
        reply_to=application.reply_to,
        computed_status=computed,
        override_reason=application.override_reason,
        override_by=application.override_by,
        override_at=application.override_at,
        warnings=tuple(str(w) for w in application.warnings or []),
        to_check=tuple(to_check(application, programme)),
        fields=tuple(_field_lines(session, programme, counting)),
        annexes=annexes,
        files=files,
        timeline=tuple(timeline),
        dossier=dossier,
        decisions=tuple(decisions),
        pending=tuple(pending_messages(session, programme.id, application.id)),
    )


def corrections_of(session: Session, application_id: int) -> list[Correction]:
    return list(
        session.scalars(
            select(Correction)
            .where(Correction.application_id == application_id)
            .order_by(Correction.created_at, Correction.id)
        )
    )
