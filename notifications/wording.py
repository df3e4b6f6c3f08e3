"""French words for what the store holds: statuses, decisions, missing items, dates.

Shared by the mails to applicants, the digest and the export, so a coordinator reads
the same words everywhere. Dates go through Babel (``fr_BE``) in the programme's zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from babel.dates import format_date, format_datetime

from config.programme import Programme
from parsers.safe_text import visible
from triage.models import OWN_MAIL, Application
from triage.verdict import (
    AUTOMATIQUE,
    COMPLET,
    DOSSIER,
    HORS_DELAI,
    INCOMPLET,
    NON_CANDIDATURE,
    required_unread,
)

LOCALE = "fr_BE"
UNREAD_TEXT_LIMIT = 60  # characters of an unread answer quoted to coordinators

STATUS_LABELS = {
    COMPLET: "Complet",
    INCOMPLET: "Incomplet",
    HORS_DELAI: "Hors délai",
    NON_CANDIDATURE: "Pas une candidature",
    AUTOMATIQUE: "Réponse automatique",
    OWN_MAIL: "Envoyé par guichet",
}

DECISION_LABELS = {
    "retenu": "Retenu",
    "non_retenu": "Non retenu",
    "attente": "Liste d’attente",
}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "—")


def decision_label(decision: str | None) -> str:
    return DECISION_LABELS.get(decision or "", "—")


def missing_label(programme: Programme, key: str) -> str:
    """What an item of ``missing`` means, for a person: « Vos statuts », « Numéro d’entreprise »."""
    if key == DOSSIER:
        return "Le dossier de candidature (formulaire Word)"
    if key.startswith("annexe."):
        annex = next((a for a in programme.annexes if f"annexe.{a.key}" == key), None)
        return annex.label if annex else key
    try:
        spec = programme.form.field(key)
    except KeyError:
        return key
    return spec.title or spec.label or key


def missing_labels(programme: Programme, keys: list[str]) -> list[str]:
    """The labels of ``keys``, the form's fields first in the form's order, then annexes."""
    order = {k: i for i, k in enumerate(programme.field_keys())}
    annexes = {f"annexe.{a.key}": i for i, a in enumerate(programme.annexes)}

    def rank(key: str) -> tuple[int, int, str]:
        if key == DOSSIER:
            return (0, 0, key)
        if key in order:
            return (1, order[key], key)
        return (2, annexes.get(key, len(annexes)), key)

    return [missing_label(programme, k) for k in sorted(keys, key=rank)]


def unread_label(programme: Programme, key: str, raw: str | None) -> str:
    """An answer written but not read, for coordinators: the field's title and the text
    found, on one line and cut: « Autodiagnostic, affirmation 5 – « 12/10 » »."""
    text = one_line(raw, UNREAD_TEXT_LIMIT)
    title = missing_label(programme, key)
    return f"{title} – « {text} »" if text else title


def unread_labels(programme: Programme, keys: list[str], raw: Mapping[str, Any]) -> list[str]:
    """``unread_label`` of each key, in the form's order."""
    order = {k: i for i, k in enumerate(programme.field_keys())}
    ranked = sorted(dict.fromkeys(keys), key=lambda k: (order.get(k, len(order)), k))
    return [unread_label(programme, k, _text(raw.get(k))) for k in ranked]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def to_check(application: Application, programme: Programme) -> list[str]:
    """What makes ``application`` « à vérifier »: the required answers of the dossier that
    counts that could not be read, by title with the text found (``unread_labels``)."""
    keys = required_unread(list(application.unread or []), programme)
    if not keys:
        return []
    version = application.current_version
    parsed = version.message.parsed if version is not None else None
    raw = dict(parsed.unread_raw or {}) if parsed is not None else {}
    return unread_labels(programme, keys, raw)


def local(moment: dt.datetime, programme: Programme) -> dt.datetime:
    return moment.astimezone(programme.zone)


def when(moment: dt.datetime | None, programme: Programme) -> str:
    """« lundi 14 septembre 2026 à 10:00 » in the programme's zone."""
    if moment is None:
        return "—"
    return format_datetime(moment, "EEEE d MMMM y 'à' HH:mm", tzinfo=programme.zone, locale=LOCALE)


def short_when(moment: dt.datetime | None, programme: Programme) -> str:
    """« 14/09/2026 09:58 » in the programme's zone (tables)."""
    if moment is None:
        return "—"
    return local(moment, programme).strftime("%d/%m/%Y %H:%M")


def day(value: dt.date | None) -> str:
    """« vendredi 2 octobre 2026 »."""
    return "—" if value is None else format_date(value, "EEEE d MMMM y", locale=LOCALE)


def one_line(text: str | None, limit: int = 120) -> str:
    """Applicant text made safe for a table cell or a line of a mail: no control, line
    or paragraph separator, no format character (bidirectional overrides, zero-width
    characters: ``parsers.safe_text.visible``), spaces collapsed, cut at ``limit``
    characters with « … »."""
    if not text:
        return ""
    return _cut(" ".join(visible(text).split()), limit)


def header_text(text: str | None, limit: int = 120) -> str:
    """Text fit for a mail header, whatever its origin: ``one_line``, and no « =? » left
    that could open an RFC 2047 encoded word (a header parser would decode one, and with
    it any line break it hides: CVE-2024-6923 on Python before 3.11.10)."""
    if not text:
        return ""
    flat = " ".join(visible(text).split())
    return _cut(_ENCODED_WORD_START.sub("= ?", flat), limit)


_ENCODED_WORD_START = re.compile(r"=\?")


def _cut(flat: str, limit: int) -> str:
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
