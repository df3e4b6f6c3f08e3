"""French words for what the store holds: statuses, decisions, missing items, dates.

Shared by the mails to applicants, the digest and the export, so a coordinator reads
the same words everywhere. Dates go through Babel (``fr_BE``) in the programme's zone.

Mails to applicants pass a ``language`` (``fr``, ``nl``, ``en``): dates, numbers and
quotes follow it (``notifications.phrases``), and fields and annexes are named in the
programme's words for it (``languages.words``) when it is not the form's own language.
Without one, everything reads as before: in French, the form's own labels.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from config.programme import NUMBERED_TITLE, LanguageWords, Programme
from notifications.phrases import FRENCH, phrases
from parsers.safe_text import visible
from triage.states import OWN_MAIL, RETIRE
from triage.verdict import (
    AUTOMATIQUE,
    COMPLET,
    DOSSIER,
    HORS_DELAI,
    INCOMPLET,
    NON_CANDIDATURE,
    required_unread,
)

if TYPE_CHECKING:
    from triage.models import Application

LOCALE = "fr_BE"
UNREAD_TEXT_LIMIT = 60  # characters of an unread answer quoted to coordinators

STATUS_LABELS = {
    COMPLET: "Complet",
    INCOMPLET: "Incomplet",
    HORS_DELAI: "Hors délai",
    NON_CANDIDATURE: "Pas une candidature",
    AUTOMATIQUE: "Réponse automatique",
    OWN_MAIL: "Envoyé par guichet",
    RETIRE: "Retiré",  # given by a coordinator (issue #13)
}

DECISION_LABELS = {
    "retenu": "Retenu",
    "non_retenu": "Non retenu",
    "attente": "Liste d’attente",
}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "—")


def decision_label(decision: str | None, language: str | None = None) -> str:
    if language is None:
        return DECISION_LABELS.get(decision or "", "—")
    return phrases(language).decisions.get(decision or "", "—")


def words_for(programme: Programme, language: str | None) -> LanguageWords | None:
    """The programme's names of fields and annexes in ``language``, or None when the form's
    own labels are the ones to use (no language, the form's, or one it does not name)."""
    if language is None or language == programme.languages.form:
        return None
    return programme.languages.words.get(language)  # type: ignore[call-overload]


def missing_label(programme: Programme, key: str, language: str | None = None) -> str:
    """What an item of ``missing`` means, for a person: « Vos statuts », « Numéro d’entreprise »
    (« Uw statuten », « Ondernemingsnummer » in Dutch)."""
    if key == DOSSIER:
        return phrases(language).dossier
    words = words_for(programme, language)
    if words is not None:
        named = (
            words.annexes.get(key.removeprefix("annexe."))
            if key.startswith("annexe.")
            else (words.fields[key].title if key in words.fields else None)
        )
        if named:
            return typography(named, language)
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


def missing_labels(
    programme: Programme, keys: list[str], language: str | None = None
) -> list[str]:
    """The labels of ``keys``, the form's fields first in the form's order, then annexes."""
    return [missing_label(programme, k, language) for k in in_form_order(programme, keys)]


QUESTION_LIMIT = 100 # characters of a question quoted to an applicant
_NUMBERED = NUMBERED_TITLE


def missing_question(programme: Programme, key: str, language: str | None = None) -> str:
    """What an item of ``missing`` means, for the applicant who must write it: a field
    named by its number in the form (« Description du projet, question 12 ») has its
    question quoted, shortened on a word boundary: « Description du projet, question 12
    (« Quelles actions avez-vous déjà mises en place à cet égard ? ») »; in another
    language, its title and question in the programme's words for it."""
    try:
        spec = programme.form.field(key)
    except KeyError:
        return missing_label(programme, key, language)
    words = words_for(programme, language)
    named = words.fields.get(key) if words is not None else None
    title = typography(missing_label(programme, key, language), language)
    if not _NUMBERED.search(spec.title or spec.label or ""):
        return title
    label = named.question if named is not None else spec.label
    question = short_question(label or "", language=language)
    title = _PARENTHESIS_AT_END.sub("", title)  # « (motivations) »: the question says it
    opening, closing = phrases(language).quotes
    return f"{title} ({opening}{question}{closing})" if question else title


_PARENTHESIS_AT_END = re.compile(r"\s*\([^()]*\)$")


def missing_questions(
    programme: Programme, keys: list[str], language: str | None = None
) -> list[str]:
    """``missing_labels`` in the same order, each with its question (``missing_question``)."""
    return [missing_question(programme, k, language) for k in in_form_order(programme, keys)]


def french_typography(text: str) -> str:
    """The form's wording set as French: typographic apostrophes, a no-break space before
    « ? ! ; : » (« égard? » reads « égard ? ») and inside « », spaces collapsed."""
    flat = " ".join(visible(text).split()).replace("'", "\u2019")
    flat = flat.replace("« ", "«\u00a0").replace(" »", "\u00a0»")
    return _BEFORE_HIGH_PUNCTUATION.sub("\u00a0\\1", flat)


_BEFORE_HIGH_PUNCTUATION = re.compile(r"(?<=\w|\)|\u00bb)\s?([?!;:])(?=\s|$)")


def typography(text: str, language: str | None = None) -> str:
    """Text set in ``language``'s typography: French's (``french_typography``), or for
    Dutch and English typographic apostrophes, no space before « ? ! ; : », spaces
    collapsed."""
    if (language or FRENCH) == FRENCH:
        return french_typography(text)
    flat = " ".join(visible(text).split()).replace("'", "\u2019")
    return _SPACE_BEFORE_HIGH_PUNCTUATION.sub("\\1", flat)


_SPACE_BEFORE_HIGH_PUNCTUATION = re.compile(r"(?<=\w|\))\s+([?!;:])(?=\s|$)")


def short_question(label: str, limit: int = QUESTION_LIMIT, language: str | None = None) -> str:
    """A form's question as an applicant can read it in a list: whole when short, else its
    questions proper (the sentences ending in « ? »), else cut on a word boundary with « … »."""
    text = typography(label, language)
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


def when(
    moment: dt.datetime | None,
    programme: Programme,
    seconds: bool = False,
    language: str | None = None,
) -> str:
    """« lundi 14 septembre 2026 à 10:00 » in the programme's zone (« à 10:00:01 » with
    ``seconds``; « mardi 1er septembre »); « maandag 14 september 2026 om 10:00 »,
    « Monday 14 September 2026 at 10:00 »."""
    if moment is None:
        return "—"
    moment = local(moment, programme)
    clock = "HH:mm:ss" if seconds else "HH:mm"
    words = phrases(language)
    clock_time = format_datetime(moment, clock, locale=words.locale)
    return f"{day(moment.date(), language)} {words.at} {clock_time}"


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


def day(value: dt.date | None, language: str | None = None) -> str:
    """« vendredi 2 octobre 2026 », « mardi 1er septembre 2026 » (« Friday 2 October 2026 »)."""
    if value is None:
        return "—"
    weekday = format_date(value, "EEEE", locale=phrases(language).locale)
    return f"{weekday} {date_value(value, language)}"


def period(start: dt.date, end: dt.date, language: str | None = None) -> str:
    """« du lundi 14 septembre 2026 au vendredi 18 septembre 2026 »; in Dutch and English
    the month and year said once when shared: « from Monday 14 to Friday 18 September 2026 »."""
    words = phrases(language)
    first = day(start, language)
    if (language or FRENCH) != FRENCH and (start.year, start.month) == (end.year, end.month):
        first = f"{format_date(start, 'EEEE', locale=words.locale)} {day_of_month(start, language)}"
    return words.period.format(start=first, end=day(end, language))


def number(value: int | float, language: str | None = None) -> str:
    """A number as ``language`` writes it: « 2,5 » in French and Dutch, « 2.5 » in English."""
    return format_decimal(value, locale=phrases(language).locale)


def day_of_month(value: dt.date, language: str | None = None) -> str:
    """« 2 », « 1er » (French ordinal for the first of the month)."""
    return "1er" if value.day == 1 and phrases(language).first_of_month else str(value.day)


def date_value(value: dt.date | str | None, language: str | None = None) -> str:
    """A date as a person writes it: « 3 février 2015 », « 1er mars 2015 »; a date the
    applicant gave as month and year only (``YYYY-MM``) reads « février 2002 », a year
    alone « 2002 ». Anything else comes back as it was, on one line."""
    if value is None:
        return ""
    locale = phrases(language).locale
    if isinstance(value, dt.date):
        return f"{day_of_month(value, language)} {format_date(value, 'MMMM y', locale=locale)}"
    text = value.strip()
    try:
        if _ISO_DAY.fullmatch(text):
            return date_value(dt.date.fromisoformat(text), language)
        if _ISO_MONTH.fullmatch(text):
            first = dt.date(int(text[:4]), int(text[5:7]), 1)
            return format_date(first, "MMMM y", locale=locale)
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
