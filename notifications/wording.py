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
    "retire": "Retiré",  # triage.models.RETIRE, given by a coordinator (issue #13)
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


def in_form_order(programme: Programme, keys: list[str]) -> list[str]:
    """``keys`` sorted as a person reads them: the dossier, the form's fields in the form's
    order, then the annexes in the programme's order."""
    order = {k: i for i, k in enumerate(programme.field_keys())}
    annexes = {f"annexe.{a.key}": i for i, a in enumerate(programme.annexes)}

    def rank(key: str) -> tuple[int, int, str]:
        if key == DOSSIER:
            return (0, 0, key)
        if key in order:
            return (1, order[key], key)
        return (2, annexes.get(key, len(annexes)), key)

    return sorted(keys, key=rank)


def missing_labels(programme: Programme, keys: list[str]) -> list[str]:
    """The labels of ``keys``, the form's fields first in the form's order, then annexes."""
    return [missing_label(programme, k) for k in in_form_order(programme, keys)]


QUESTION_LIMIT = 100 # characters of a question quoted to an applicant
_NUMBERED = re.compile(r"\b(?:question|affirmation)\s+\d+", re.IGNORECASE)


def missing_question(programme: Programme, key: str) -> str:
    """What an item of ``missing`` means, for the applicant who must write it: a field
    named by its number in the form (« Description du projet, question 12 ») has its
    question quoted, shortened on a word boundary: « Description du projet, question 12
    (« Quelles actions avez-vous déjà mises en place à cet égard ? ») »."""
    title = missing_label(programme, key)
    if not _NUMBERED.search(title):
        return title
    try:
        spec = programme.form.field(key)
    except KeyError:
        return title
    question = short_question(spec.label or "")
    title = _PARENTHESIS_AT_END.sub("", title)  # « (motivations) »: the question says it
    return f"{title} (\u00ab\u00a0{question}\u00a0\u00bb)" if question else title


_PARENTHESIS_AT_END = re.compile(r"\s*\([^()]*\)$")


def missing_questions(programme: Programme, keys: list[str]) -> list[str]:
    """``missing_labels`` in the same order, each with its question (``missing_question``)."""
    return [missing_question(programme, k) for k in in_form_order(programme, keys)]


def french_typography(text: str) -> str:
    """The form's wording set as French: typographic apostrophes, a no-break space before
    « ? ! ; : » (« égard? » reads « égard ? »), spaces collapsed."""
    flat = " ".join(visible(text).split()).replace("'", "\u2019")
    return _BEFORE_HIGH_PUNCTUATION.sub("\u00a0\\1", flat)


_BEFORE_HIGH_PUNCTUATION = re.compile(r"(?<=\w|\)|\u00bb)\s?([?!;:])(?=\s|$)")


def short_question(label: str, limit: int = QUESTION_LIMIT) -> str:
    """A form's question as an applicant can read it in a list: whole when short, else its
    questions proper (the sentences ending in « ? »), else cut on a word boundary with « … »."""
    text = french_typography(label)
    if len(text) <= limit:
        return text
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    questions = [s for s in sentences if s.endswith("?")]
    if questions and len(" ".join(questions)) <= limit:
        return " ".join(questions)
    if questions and len(questions[-1]) <= limit:
        return questions[-1]
    return cut_on_word(text, limit)


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-ZÀ-Ý])")


def cut_on_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters on a word boundary, with « … »."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" \u00a0,;:.–-") + "…"


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


def when(moment: dt.datetime | None, programme: Programme, seconds: bool = False) -> str:
    """« lundi 14 septembre 2026 à 10:00 » in the programme's zone (« à 10:00:01 » with
    ``seconds``; « mardi 1er septembre »)."""
    if moment is None:
        return "—"
    moment = local(moment, programme)
    clock = "HH:mm:ss" if seconds else "HH:mm"
    return f"{day(moment.date())} à {format_datetime(moment, clock, locale=LOCALE)}"


def same_minute(moment: dt.datetime | None, other: dt.datetime | None) -> bool:
    """Whether the two moments read the same to the minute (« 10:00 » and « 10:00 »)."""
    if moment is None or other is None:
        return False
    minute = dt.timedelta(minutes=1)
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return (moment - epoch) // minute == (other - epoch) // minute


def short_when(moment: dt.datetime | None, programme: Programme) -> str:
    """« 14/09/2026 09:58 » in the programme's zone (tables)."""
    if moment is None:
        return "—"
    return local(moment, programme).strftime("%d/%m/%Y %H:%M")


def day(value: dt.date | None) -> str:
    """« vendredi 2 octobre 2026 », « mardi 1er septembre 2026 »."""
    if value is None:
        return "—"
    return f"{format_date(value, 'EEEE', locale=LOCALE)} {date_value(value)}"


def day_of_month(value: dt.date) -> str:
    """« 2 », « 1er » (French ordinal for the first of the month)."""
    return "1er" if value.day == 1 else str(value.day)


def date_value(value: dt.date | str | None) -> str:
    """A date as a person writes it: « 3 février 2015 », « 1er mars 2015 »; a date the
    applicant gave as month and year only (``YYYY-MM``) reads « février 2002 », a year
    alone « 2002 ». Anything else comes back as it was, on one line."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{day_of_month(value)} {format_date(value, 'MMMM y', locale=LOCALE)}"
    text = value.strip()
    try:
        if _ISO_DAY.fullmatch(text):
            return date_value(dt.date.fromisoformat(text))
        if _ISO_MONTH.fullmatch(text):
            first = dt.date(int(text[:4]), int(text[5:7]), 1)
            return format_date(first, "MMMM y", locale=LOCALE)
    except ValueError:
        pass
    if _ISO_YEAR.fullmatch(text):
        return text
    return one_line(text, 40)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MONTH = re.compile(r"\d{4}-\d{2}")
_ISO_YEAR = re.compile(r"\d{4}")


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
