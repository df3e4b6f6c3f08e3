"""Reading what applicants write in a form field into a value a program can use.

Each ``parse_*`` function takes the raw answer to one field and returns a :class:`Normalised`:
a JSON-ready value (or None) and, when the text could not be read with confidence or was read
but looks wrong, one French sentence for the coordinator. The functions are pure (no I/O, no
clock) and never raise on text. They are generous in what they read and strict in not
inventing: an answer that cannot be read is None with a warning, never a guess.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz
from stdnum.be import vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

if TYPE_CHECKING:
    from dateparser import DateDataParser

__all__ = [
    "PLACEHOLDERS",
    "Normalised",
    "clean_text",
    "is_placeholder",
    "parse_choice",
    "parse_date",
    "parse_email",
    "parse_enterprise_number",
    "parse_number",
    "parse_phone",
    "parse_score",
    "parse_yes_no",
]


@dataclass(frozen=True, slots=True)
class Normalised:
    """A field's value after normalisation, and what a coordinator should check."""

    value: object | None  # JSON-ready: str, float, int, bool, list, or None
    warning: str | None = None  # French, for a coordinator
    detail: str | None = None  # yes_no only: the text after the oui/non


# --- shared helpers ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})


def _fold(text: str) -> str:
    """Lower case without accents, apostrophes unified: the form in which texts are compared."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _words(text: str) -> str:
    """Folded text with punctuation as single spaces: ``Bac (France)`` -> ``bac france``."""
    return " ".join(re.sub(r"[\W_]+", " ", _fold(text)).split())


def _compact(text: str) -> str:
    """Folded letters and digits only, to compare texts whatever their separators."""
    return re.sub(r"[\W_]+", "", _fold(text))


def _quoted(text: str, limit: int = 60) -> str:
    """The answer in French quotes, on one line, shortened for a warning."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return f"« {line} »"


def _sentences(*sentences: str | None) -> str | None:
    """Join the warnings that apply; None when there are none."""
    return " ".join(s for s in sentences if s) or None


def _answer(text: str | None) -> str | None:
    """The cleaned answer, or None when it is blank or a placeholder."""
    value = clean_text(text).value
    return value if isinstance(value, str) else None


# --- placeholders and text --------------------------------------------------------------------

PLACEHOLDERS: tuple[str, ...] = (
    "-", "–", "—", "/", "N/A", "n/a", "NA", "n.a.", "néant", "...", "…", "xxx", "?", "TBD",
    "à compléter", "A compléter", "[à compléter]", "(à compléter)", "jj/mm/aaaa", "dd/mm/yyyy",
    # what Word shows in a content control nobody filled in
    "Cliquez ou appuyez ici pour entrer du texte.", "Click or tap here to enter text.",
    "Cliquez ici pour taper du texte.", "Cliquez ici pour entrer du texte.",
    "Click here to enter text.", "Cliquez ou appuyez ici pour entrer une date.",
    "Click or tap to enter a date.", "Choisissez un élément.", "Choose an item.",
)  # fmt: skip

_TRAILING_PUNCTUATION = ".:;,!?… "
_ENCLOSING = ("()", "[]", "{}", "<>")


def _placeholder_key(text: str) -> str:
    key = " ".join(_fold(text).split()).rstrip(_TRAILING_PUNCTUATION)
    if len(key) >= 2 and key[0] + key[-1] in _ENCLOSING:
        key = key[1:-1].strip().rstrip(_TRAILING_PUNCTUATION)
    return key


_PLACEHOLDER_KEYS = frozenset(_placeholder_key(p) for p in PLACEHOLDERS)
_X_MASK = re.compile(r"[\W_]*(?:x[\W_]*){2,}")  # "xxx", "xx/xx/xxxx"


def is_placeholder(text: str | None) -> bool:
    """True for a blank answer or one that only holds a placeholder (``-``, ``N/A``, ``…``)."""
    if text is None:
        return True
    key = _placeholder_key(text)
    return (
        not any(c.isalnum() for c in key)
        or key in _PLACEHOLDER_KEYS
        or _X_MASK.fullmatch(key) is not None
    )


_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)


def clean_text(text: str | None) -> Normalised:
    """Strip, collapse the spaces inside lines, join non-empty lines with ``\\n``."""
    if text is None:
        return Normalised(None)
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    lines = (" ".join(line.split()) for line in text.splitlines())
    cleaned = "\n".join(line for line in lines if line)
    return Normalised(None if is_placeholder(cleaned) else cleaned)


# --- dates ------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {
    # French, with the abbreviations people write
    "janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "mar": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8,
    "septembre": 9, "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
    # Dutch and English: Brussels is bilingual and some applicants write in English
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "augustus": 8, "oktober": 10, "okt": 10, "january": 1, "february": 2, "feb": 2,
    "march": 3, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_NAME = rf"(?<![a-z])(?P<month_name>{_MONTH})(?![a-z])\.?"
_GAP = r"[\s.,/-]{0,3}"
_START = r"(?<![\d.,/-])"  # not the tail of a longer number
_END = r"(?!\d|[.,/-]\d)"  # not the head of a longer number

# Searched in folded text, in this order; a later match overlapping an earlier one is ignored.
_FULL_DATES = (
    re.compile(
        rf"{_START}(?P<day>\d{{1,2}})(?P<sep>\s?[./-]\s?)(?P<month>\d{{1,2}})(?P=sep)"
        rf"(?P<year>\d{{4}}|\d{{2}}){_END}"
    ),
    re.compile(
        rf"{_START}(?P<year>\d{{4}})(?P<sep>[./-])(?P<month>\d{{1,2}})(?P=sep)(?P<day>\d{{1,2}}){_END}"
    ),
    re.compile(
        rf"(?<!\d)(?P<day>\d{{1,2}})\s?(?:er|re|eme|e|st|nd|rd|th)?{_GAP}{_MONTH_NAME}{_GAP}"
        rf"(?P<year>\d{{4}}|\d{{2}}(?!\s?[h:]))(?!\d)"
    ),
)
_MONTH_YEARS = (
    re.compile(rf"{_START}(?P<month>\d{{1,2}})\s?[./-]\s?(?P<year>\d{{4}}){_END}"),
    re.compile(rf"{_START}(?P<year>\d{{4}})-(?P<month>\d{{1,2}}){_END}"),
    re.compile(rf"{_MONTH_NAME}{_GAP}(?P<year>\d{{4}})(?!\d)"),
)
_DAY_AND_MONTH = re.compile(rf"(?<!\d)\d{{1,2}}\s?(?:er|re|eme|e)?{_GAP}{_MONTH_NAME}")
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
_PLAUSIBLE_YEARS = range(1900, 2101)

_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_LOCALE_DATE_ORDER": False,
    "STRICT_PARSING": True,  # day, month and year all written: "2021" alone is no date
    "PARSERS": ["absolute-time"],  # no "hier", no timestamps: nothing read from the clock
}


@dataclass(frozen=True, slots=True)
class _FoundDate:
    start: int
    end: int
    iso: str | None  # None: the date does not exist (31/02)


def _full_year(written: str) -> int:
    """Two-digit years: 00-30 are 20xx, the others 19xx."""
    year = int(written)
    if len(written) == 2:
        return year + (2000 if year <= 30 else 1900)
    return year


def _month_of(match: re.Match[str]) -> int:
    name = match.groupdict().get("month_name")
    return _MONTHS[name] if name else int(match["month"])


def _iso_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _find_dates(folded: str) -> list[_FoundDate]:
    """Every date written in the text, full dates first, then month and year."""
    found: list[_FoundDate] = []

    def is_free(match: re.Match[str]) -> bool:
        return all(match.end() <= f.start or match.start() >= f.end for f in found)

    for pattern in _FULL_DATES:
        for m in pattern.finditer(folded):
            if is_free(m):
                iso = _iso_date(_full_year(m["year"]), _month_of(m), int(m["day"]))
                found.append(_FoundDate(m.start(), m.end(), iso))
    for pattern in _MONTH_YEARS:
        for m in pattern.finditer(folded):
            month = _month_of(m)
            if 1 <= month <= 12 and is_free(m):
                found.append(_FoundDate(m.start(), m.end(), f"{int(m['year']):04d}-{month:02d}"))
    return found


@cache
def _date_parser() -> DateDataParser:
    from dateparser import DateDataParser  # slow to import: only needed for unusual dates

    return DateDataParser(languages=["fr", "en"], settings=_DATEPARSER_SETTINGS)


def _parse_with_dateparser(text: str) -> str | None:
    found = _date_parser().get_date_data(text).date_obj
    return found.date().isoformat() if found else None


def _checked_date(iso: str, answer: str) -> Normalised:
    if int(iso[:4]) in _PLAUSIBLE_YEARS:
        return Normalised(iso)
    return Normalised(iso, f"Date invraisemblable : {_quoted(answer)}.")


def _parse_unusual_date(answer: str, folded: str) -> Normalised:
    """Dates the patterns do not know (``March 12, 2019``), and why the others are unreadable.

    Only here is dateparser used: it takes 0.2 s to load and about 1 ms a call, where the
    patterns take microseconds.
    """
    if re.search(r"[a-z]", folded) and _FOUR_DIGITS.search(folded):
        iso = _parse_with_dateparser(answer)
        if iso:
            return _checked_date(iso, answer)
    if _DAY_AND_MONTH.search(folded):
        return Normalised(None, f"Date incomplète (année manquante) : {_quoted(answer)}.")
    numbers = re.findall(r"\d+", folded)
    if len(numbers) == 1 and _FOUR_DIGITS.fullmatch(numbers[0]):
        return Normalised(None, f"Date incomplète (année seule) : {_quoted(answer)}.")
    return Normalised(None, f"Date illisible : {_quoted(answer)}.")


def parse_date(text: str | None) -> Normalised:
    """ISO ``YYYY-MM-DD``, or ``YYYY-MM`` when only month and year are written; day first."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    folded = _fold(answer)
    found = _find_dates(folded)
    if not found:
        return _parse_unusual_date(answer, folded)
    values = {f.iso for f in found}
    if len(values) > 1:
        return Normalised(None, f"Plusieurs dates dans {_quoted(answer)} : aucune n’est retenue.")
    (iso,) = values
    if iso is None:
        return Normalised(None, f"Date impossible : {_quoted(answer)}.")
    return _checked_date(iso, answer)


# --- enterprise numbers -----------------------------------------------------------------------

_ENTERPRISE_NUMBER = re.compile(
    r"(?<![0-9])(?<![0-9][ ./-])[0-9](?:[ ./-]?[0-9]){8,9}(?![ ./-]?[0-9])"
)


def _ten_digits(written: str) -> str | None:
    """The number's ten digits; old numbers had nine, never starting with 0."""
    digits = re.sub(r"\D", "", written)
    if len(digits) == 9 and not digits.startswith("0"):
        return "0" + digits
    return digits if len(digits) == 10 else None


def _enterprise_number_problem(digits: str, formatted: str) -> str | None:
    try:
        vat.validate(digits)
    except InvalidChecksum:
        return f"Le numéro d’entreprise {formatted} ne passe pas le contrôle (modulo 97)."
    except InvalidComponent:
        return f"Le numéro d’entreprise {formatted} devrait commencer par 0 ou 1."
    except ValidationError:
        return f"Le numéro d’entreprise {formatted} n’est pas valable."
    return None


def parse_enterprise_number(text: str | None) -> Normalised:
    """Belgian enterprise (BCE/TVA) number as ``0123.456.789``, checked modulo 97."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    found = (_ten_digits(m[0]) for m in _ENTERPRISE_NUMBER.finditer(answer))
    numbers = [n for n in dict.fromkeys(found) if n]
    if not numbers:
        return Normalised(
            None, f"Numéro d’entreprise illisible : {_quoted(answer)} (10 chiffres attendus)."
        )
    digits = numbers[0]
    formatted = f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    warnings = [_enterprise_number_problem(digits, formatted)]
    if len(numbers) > 1:
        warnings.append(f"Plusieurs numéros dans {_quoted(answer)} : le premier est retenu.")
    return Normalised(formatted, _sentences(*warnings))


# --- numbers ----------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.,])(?P<sign>[-−](?=\d))?(?P<digits>"
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?"  # 1 200 / 1 200,5
    r"|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,}"  # 1.200,5 / 1.200.000
    r"|\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,}"  # 1,200.5 / 1,200,000
    r"|\d+(?:[.,]\d+)?"  # 3 / 3,5 / 3.5
    r")(?!\d)"
)
_LONE_SEPARATOR_BEFORE_THOUSANDS = re.compile(r"[1-9]\d{0,2}[.,]\d{3}")  # 1.200: 1,2 or 1200?

_NUMBER_WORDS: dict[str, float] = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
    "quatorze": 14, "quinze": 15, "seize": 16, "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19,
    "vingt": 20,
    # so that "une personne à mi-temps" reads as two numbers, with a warning
    "demi": 0.5, "mi-temps": 0.5,
}  # fmt: skip
_NUMBER_WORD = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(re.escape(w).replace(r"\-", "[- ]") for w in sorted(_NUMBER_WORDS, key=len)[::-1])
    + r")(?![\w-])"
)


@dataclass(frozen=True, slots=True)
class _Number:
    written: str
    value: float
    negative: bool = False


def _to_float(written: str) -> float:
    """``3,5``, ``1 200``, ``1.200,5``, ``1,200.5`` as floats; a lone separator is decimal."""
    compact = re.sub(r"[ \u00a0\u202f]", "", written)
    if "," in compact and "." in compact:
        decimal = "," if compact.rfind(",") > compact.rfind(".") else "."
        compact = compact.replace("." if decimal == "," else ",", "").replace(decimal, ".")
    elif compact.count(",") > 1 or compact.count(".") > 1:
        compact = compact.replace(",", "").replace(".", "")
    else:
        compact = compact.replace(",", ".")
    return float(compact)


def _french(number: float) -> str:
    return f"{number:g}".replace(".", ",")


def _numbers_in(text: str) -> list[_Number]:
    """The numbers written in digits or, when there are none, in French words (zéro to vingt)."""
    numbers = [
        _Number(m["digits"], _to_float(m["digits"]), negative=bool(m["sign"]))
        for m in _NUMBER.finditer(text)
    ]
    if not numbers:
        numbers = [
            _Number(m[0], float(_NUMBER_WORDS[m[0].replace(" ", "-")]))
            for m in _NUMBER_WORD.finditer(_fold(text))
        ]
    return [n for n in numbers if math.isfinite(n.value)]


def parse_number(text: str | None) -> Normalised:
    """The first number of the answer as a float (``3,5 ETP`` -> 3.5); never negative."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    numbers = _numbers_in(answer)
    if not numbers:
        return Normalised(None, f"Nombre illisible : {_quoted(answer)}.")
    first = numbers[0]
    if first.negative:
        return Normalised(None, f"Nombre négatif : {_quoted(answer)}.")
    warnings = []
    if len({n.value for n in numbers}) > 1:
        warnings.append(
            f"Plusieurs nombres dans {_quoted(answer)} : le premier ({first.written}) est retenu."
        )
    if _LONE_SEPARATOR_BEFORE_THOUSANDS.fullmatch(first.written):
        warnings.append(
            f"« {first.written} » est lu {_french(first.value)}"
            f" et non {_french(first.value * 1000)} : à vérifier."
        )
    return Normalised(first.value, _sentences(*warnings))


# --- ticked boxes (yes/no and choices) --------------------------------------------------------

_TICKED_BOXES = "☒☑■⊠"
_TICKS = "✓✔✅✗✘"
_EMPTY_BOXES = "☐□❑"
_BOXES = _TICKED_BOXES + _EMPTY_BOXES
_BRACKETED_TICK = re.compile(r"[\[(]\s*[xX✓✔]\s*[\])]")
_BRACKETED_EMPTY = re.compile(r"\[\s*\]|\(\s+\)")
_LONE_X = r"(?<!\w)[xX](?!\w)"
_MARK = re.compile(rf"[{_BOXES}{_TICKS}]|{_LONE_X}")


def _with_boxes(text: str) -> str:
    """``[x]`` and ``[ ]`` written as the boxes Word prints."""
    return _BRACKETED_EMPTY.sub("☐", _BRACKETED_TICK.sub("☒", text))


def _is_template(text: str, template: str | None) -> bool:
    """The answer as the blank form prints it, whatever the separators, with no box or tick."""
    return (
        template is not None
        and _compact(text) == _compact(template)
        and not _MARK.search(_with_boxes(text))
    )


def _boxes_follow_labels(text: str) -> bool:
    """``oui ☒ non ☐``: the box after its label (the usual layout is the box before)."""
    stripped = text.strip()
    return bool(stripped) and stripped[-1] in _BOXES and stripped[0] not in _BOXES


# --- yes/no -----------------------------------------------------------------------------------

_YES = frozenset({"oui", "yes", "ja"})
_NO = frozenset({"non", "no", "nee", "neen"})
_TICK_TOKENS = frozenset(_TICKED_BOXES + _TICKS + "xX")
_TOKEN = re.compile(rf"[{_BOXES}{_TICKS}]|\w+")
_BETWEEN_OPTIONS = re.compile(r"[/|–—,;\n-]")
_DETAIL_LEAD = re.compile(r"^[\s,;:–—./-]+")
_ENCLOSED = re.compile(r"\((?P<inner>.*)\)\.?", re.DOTALL)

_TokenKind = Literal["yes", "no", "ticked", "empty", "word"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    start: int
    end: int

    @property
    def is_answer(self) -> bool:
        return self.kind in ("yes", "no")


def _token_kind(written: str) -> _TokenKind:
    if written in _TICK_TOKENS:
        return "ticked"
    if written in _EMPTY_BOXES:
        return "empty"
    folded = _fold(written)
    return "yes" if folded in _YES else "no" if folded in _NO else "word"


def _tokens(text: str) -> list[_Token]:
    return [_Token(_token_kind(m[0]), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _is_balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _detail(rest: str) -> str | None:
    """What follows the oui/non, without the separating punctuation or enclosing parentheses."""
    detail = _DETAIL_LEAD.sub("", rest).strip()
    enclosed = _ENCLOSED.fullmatch(detail)
    if enclosed and _is_balanced(enclosed["inner"]):
        detail = enclosed["inner"].strip()
    if not any(c.isalnum() for c in detail):
        return None
    value = clean_text(detail).value
    return value if isinstance(value, str) else None


def _ticked_answer(text: str, tokens: list[_Token], i: int, boxes_after: bool) -> _Token | None:
    """The oui or non a tick mark belongs to: its neighbour, on the side without a separator."""
    mark = tokens[i]
    before = tokens[i - 1] if i > 0 and tokens[i - 1].is_answer else None
    after = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].is_answer else None
    if before is None or after is None:
        return before or after
    split_before = bool(_BETWEEN_OPTIONS.search(text[before.end : mark.start]))
    split_after = bool(_BETWEEN_OPTIONS.search(text[mark.end : after.start]))
    if split_before != split_after:
        return after if split_before else before
    if text[mark.start] in _TICKED_BOXES:
        return before if boxes_after else after
    return None


def _read_ticked(text: str, tokens: list[_Token]) -> Normalised:
    boxes_after = _boxes_follow_labels(text)
    chosen = {
        answer.kind
        for i, token in enumerate(tokens)
        if token.kind == "ticked" and (answer := _ticked_answer(text, tokens, i, boxes_after))
    }
    if len(chosen) != 1:
        return Normalised(None, f"Réponse oui/non ambiguë : {_quoted(text)}.")
    last = max(t.end for t in tokens if t.is_answer or t.kind in ("ticked", "empty"))
    return Normalised(chosen == {"yes"}, detail=_detail(text[last:]))


def _without_template_prefix(text: str) -> str:
    """``oui/non : oui`` -> ``oui``: the printed options kept, the answer written after them."""
    tokens = _tokens(text)
    if (
        len(tokens) >= 3
        and {tokens[0].kind, tokens[1].kind} == {"yes", "no"}
        and ":" in text[tokens[1].end : tokens[2].start]
    ):
        return text[tokens[1].end :].lstrip(" :")
    return text


def _read_yes_no(text: str) -> Normalised:
    tokens = _tokens(text)
    words = [t for t in tokens if t.kind != "empty"]
    if len(words) == 2 and {t.kind for t in words} == {"yes", "no"}:
        return Normalised(None)  # the form's "oui/non" left as printed
    text = _without_template_prefix(text)
    tokens = _tokens(text)
    if any(t.kind == "ticked" for t in tokens):
        return _read_ticked(text, tokens)
    answers = [t for t in tokens if t.is_answer]
    if not answers:
        return Normalised(None, f"Ni oui ni non dans la réponse {_quoted(text)}.")
    words = [t for t in tokens if t.kind != "empty"]
    lead = words[0]
    if not lead.is_answer:
        if len(answers) == 1 and text[: answers[0].start].rstrip().endswith(":"):
            lead = answers[0]  # "Réponse : oui"
        else:
            return Normalised(None, f"Réponse oui/non illisible : {_quoted(text)}.")
    following = words[words.index(lead) + 1] if lead is not words[-1] else None
    if following is not None and following.is_answer and following.kind != lead.kind:
        return Normalised(None, f"Oui et non laissés tous les deux : {_quoted(text)}.")
    return Normalised(lead.kind == "yes", detail=_detail(text[lead.end :]))


def parse_yes_no(text: str | None, template: str | None = None) -> Normalised:
    """True/False from oui/non (yes/no, ja/nee), ``detail`` holding what follows the answer."""
    answer = _answer(text)
    if answer is None or _is_template(answer, template):
        return Normalised(None)
    return _read_yes_no(_with_boxes(answer))


# --- phones -----------------------------------------------------------------------------------


def parse_phone(text: str | None, default_region: str = "BE") -> Normalised:
    """E.164 (``+32488022725``); numbers without a country code belong to ``default_region``."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    found = [
        m.number
        for m in phonenumbers.PhoneNumberMatcher(
            answer, default_region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    if not found:
        return Normalised(None, f"Numéro de téléphone illisible : {_quoted(answer)}.")
    e164 = [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in found]
    warnings = []
    if not phonenumbers.is_valid_number(found[0]):  # possible (right length) but not allocated
        warnings.append(f"Le numéro {e164[0]} n’existe pas au plan de numérotation : à vérifier.")
    if len(set(e164)) > 1:
        warnings.append(f"Plusieurs numéros dans {_quoted(answer)} : le premier est retenu.")
    return Normalised(e164[0], _sentences(*warnings))


# --- e-mail addresses -------------------------------------------------------------------------

_NOT_IN_ADDRESS = r"\s<>()\[\]{}\"',;:«»"
_EMAIL = re.compile(rf"(?<![^{_NOT_IN_ADDRESS}])[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+")
_SPELLED_AT = re.compile(r"\s*[\[(]\s*(?:at|arobase)\s*[\])]\s*", re.IGNORECASE)
_MAILTO = re.compile(r"mailto:", re.IGNORECASE)


def _valid_address(candidate: str) -> str | None:
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_email(text: str | None) -> Normalised:
    """The (first) e-mail address, lower-cased and checked for syntax (no DNS)."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    unmasked = _SPELLED_AT.sub("@", _MAILTO.sub("", answer))
    candidates = [c.split("?")[0].strip(".!?-") for c in _EMAIL.findall(unmasked)]
    candidates = list(dict.fromkeys(c.lower() for c in candidates if c))
    if not candidates:
        return Normalised(None, f"Pas d’adresse e-mail dans {_quoted(answer)}.")
    valid = [address for c in candidates if (address := _valid_address(c))]
    if not valid:
        return Normalised(None, f"Adresse e-mail invalide : {_quoted(answer)}.")
    if len(candidates) > 1:
        return Normalised(
            valid[0],
            f"Plusieurs adresses dans {_quoted(answer)} : la première valable est retenue.",
        )
    return Normalised(valid[0])


# --- choices among listed options -------------------------------------------------------------

_OPTION_SEPARATOR = re.compile(r"\n|\s*[–—/;|•▪◦·]\s*|\s+-\s+|^\s*[-*]\s+", re.MULTILINE)
# rapidfuzz ratio: "universitère" (88) still reads, "secondaire inférieur" is not supérieur (85)
_FUZZY_CUTOFF = 88
_FUZZY_MARGIN = 5
_FUZZY_MIN_LENGTH = 5
_AMBIGUOUS = object()

_OptionState = Literal["ticked", "empty", "plain"]


@dataclass(frozen=True, slots=True)
class _Option:
    label: str
    state: _OptionState


def _options_in(text: str) -> list[_Option]:
    """The options left in the answer, each with its box or tick mark if it has one."""
    boxed = _with_boxes(text)
    one_per_box = r"\1\n" if _boxes_follow_labels(boxed) else r"\n\1"
    boxed = re.sub(rf"([{_BOXES}])", one_per_box, boxed)
    options: list[_Option] = []
    for part in _OPTION_SEPARATOR.split(boxed):
        marks = _MARK.findall(part)
        label = _MARK.sub(" ", part).strip()
        ticked = any(m not in _EMPTY_BOXES for m in marks)
        state: _OptionState = "ticked" if ticked else "empty" if marks else "plain"
        if _words(label):
            options.append(_Option(label, state))
        elif ticked and options:  # "secondaire supérieur – X": the mark after its option
            options[-1] = _Option(options[-1].label, "ticked")
    return options


def _phrase_index(choices: Mapping[str, Iterable[str]]) -> list[tuple[tuple[str, ...], str]]:
    index = [(tuple(_words(p).split()), value) for value, ps in choices.items() for p in ps]
    return [(phrase, value) for phrase, value in index if phrase]


def _phrase_matches(
    words: list[str], index: list[tuple[tuple[str, ...], str]]
) -> list[tuple[int, int, str, float]]:
    """Where each phrase is written (exactly, or close enough): word span, value, score."""
    matches = []
    for phrase, value in index:
        written = " ".join(phrase)
        fuzzy = len(written) >= _FUZZY_MIN_LENGTH
        for i in range(len(words) - len(phrase) + 1):
            window = words[i : i + len(phrase)]
            score = 100.0 if tuple(window) == phrase else 0.0
            if fuzzy and not score:
                score = fuzz.ratio(" ".join(window), written)
            if score >= _FUZZY_CUTOFF:
                matches.append((i, i + len(phrase), value, score))
    return matches


def _option_value(label: str, index: list[tuple[tuple[str, ...], str]]) -> object:
    """The value an option means, from the phrases (or close spellings) it contains."""
    matches = _phrase_matches(_words(label).split(), index)
    best: dict[str, float] = {}
    for start, end, value, score in matches:
        # "secondaire" inside "secondaire inférieur" says nothing more
        inside_longer = any(s <= start and end <= e and e - s > end - start for s, e, *_ in matches)
        if not inside_longer and score > best.get(value, 0):
            best[value] = score
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _FUZZY_MARGIN:
        return _AMBIGUOUS
    return ranked[0][0]


def parse_choice(
    text: str | None,
    choices: Mapping[str, Iterable[str]],
    template: str | None = None,
    *,
    label: str = "Niveau d’études",
) -> Normalised:
    """The value of the one option chosen: kept alone, ticked, or named by a synonym."""
    answer = _answer(text)
    if answer is None or _is_template(answer, template):
        return Normalised(None)
    index = _phrase_index(choices)
    readings = [
        (option.state, _option_value(option.label, index)) for option in _options_in(answer)
    ]
    ticked = {value for state, value in readings if state == "ticked"}
    left_unboxed = {value for state, value in readings if state == "plain"} - {None}
    listed = {value for _, value in readings}
    if ticked:
        values = ticked
    elif left_unboxed and any(state == "empty" for state, _ in readings):
        values = left_unboxed  # the others struck out with empty boxes
    elif set(choices) <= listed:
        return Normalised(None)  # every option left in place: the list as printed
    else:
        values = listed - {None}
    if len(values) == 1 and (value := values.pop()) is not _AMBIGUOUS:
        return Normalised(value)
    return Normalised(None, f"{label} illisible : {_quoted(answer)}.")


# --- scores -----------------------------------------------------------------------------------

_SCALE = re.compile(r"\s*(?:/|\bsur\b|\bon\b|\bout of\b)\s*(?P<scale>\d{1,4})(?!\d|[.,]\d)")


def parse_score(
    text: str | None, low: int = 1, high: int = 10, *, label: str = "Autodiagnostic"
) -> Normalised:
    """A whole number from ``low`` to ``high``: ``8``, ``8/10``, ``8 sur 10``, ``note : 8``."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    folded = _fold(answer)
    if any(int(m["scale"]) != high for m in _SCALE.finditer(folded)):
        return Normalised(
            None, f"{label} : note sur une autre échelle que {low}-{high} ({_quoted(answer)})."
        )
    numbers = _numbers_in(_SCALE.sub(" ", folded))
    if not numbers:
        return Normalised(None, f"{label} : pas de note dans {_quoted(answer)}.")
    if len({(n.value, n.negative) for n in numbers}) > 1:
        return Normalised(None, f"{label} : plusieurs valeurs ({_quoted(answer)}).")
    score = numbers[0]
    if not score.value.is_integer():
        return Normalised(None, f"{label} : note non entière ({_quoted(answer)}).")
    if score.negative or not low <= score.value <= high:
        return Normalised(
            None, f"{label} : valeur hors de l’échelle {low}-{high} ({_quoted(answer)})."
        )
    return Normalised(int(score.value))
