"""Dates as applicants write them (``12/03/2019``, ``12 mars 2019``, ``mars 2019``), read as ISO."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from parsers.normalise.text import Normalised, _answer, _fold, _quoted

if TYPE_CHECKING:
    from dateparser import DateDataParser


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
