"""Which annex is a file: statuts, rapport d'activité, bilans (and their years), CV?

Only a document counts: when the content's kind is known (``parsers.sniff``), a file
that is not a PDF, an Office or OpenDocument file, an image or text is never an annex,
whatever its name says (« statuts.pdf.exe »). The file name decides first, once its
format characters are gone (a right-to-left override cannot hide a word); failing that,
the first page's text. Keywords come from the
programme (``AnnexSpec.keywords`` and ``exclude``), matched on whole words after folding
case, accents, apostrophes and separators: "CV_Deprez.pdf" is a CV, "cvs-export.csv"
is not. A file may name several annexes ("Statuts et rapport 2025.pdf"). The years a
bilan covers come from its name ("Bilans 2024-2025.pdf": two), else from its first page
("Comptes annuels au 31/12/2025", "exercice 2024").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from config.programme import AnnexSpec
from parsers.safe_text import visible
from parsers.sniff import READABLE

OTHER = "autres"
FIRST_YEAR, LAST_YEAR = 1990, 2100

_YEAR = r"(?:19|20)\d\d"
# On folded text, where "2024-2025", "2024/25" and "2024 à 2025" all read "2024 2025"...
_RANGE = re.compile(rf"(?<!\d)({_YEAR})\s+(?:a\s+|au\s+|et\s+)?((?:19|20)?\d\d)(?!\d)")
_SINGLE = re.compile(rf"(?<!\d)({_YEAR})(?!\d)")
_YEARS = rf"{_YEAR}(?:\s+(?:a\s+|au\s+|et\s+)?(?:19|20)?\d\d(?!\d))?"
# Where a first page states the financial year (folded text).
_YEAR_CONTEXTS = (
    re.compile(
        rf"\bexercices?\s+(?:comptables?\s+|sociaux?\s+)?(?:clos\s+|cloture\s+)?(?:le\s+|au\s+)?"
        rf"(?:31\s+(?:12|decembre)\s+)?({_YEARS})"
    ),
    re.compile(rf"\b(?:au|le|du)\s+31\s+(?:12|decembre)\s+({_YEAR})"),
    re.compile(
        r"\b(?:comptes?\s+annuels?|bilans?|comptes?\s+de\s+resultats?|jaarrekening"
        r"|etats?\s+financiers?|balance\s+sheet|financial\s+statements|annee\s+comptable)\s+"
        rf"(?:de\s+l\s+annee\s+|pour\s+l\s+annee\s+|annee\s+)?({_YEARS})"
    ),
)


@dataclass(frozen=True)
class AnnexMatch:
    keys: tuple[str, ...]  # annex keys recognised; empty: an "autre pièce"
    years: tuple[int, ...] = ()  # financial years covered (annexes with ``years``)
    source: str = ""  # "nom" or "contenu"


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces (camel case and digits split)."""
    text = re.sub(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])|(?<=[A-ZÀ-Þ])(?=[A-ZÀ-Þ][a-zà-ÿ])", " ", text)
    text = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", text)
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.split(r"[\W_]+", bare)).strip()


def fold_lines(text: str) -> str:
    """``fold`` line by line, keeping the line breaks (first pages are read in lines)."""
    return "\n".join(fold(line) for line in text.splitlines())


def _plural(word: str) -> str:
    """An optional plural "s", except after short words ("cv" must not match "cvs")."""
    return "s?" if len(word.rsplit(" ", 1)[-1]) >= 4 else ""


@cache
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    folded = sorted({fold(w) for w in words if fold(w)}, key=len, reverse=True)
    if not folded:
        return None
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") + _plural(w) for w in folded)
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")


def _first_hit(spec: AnnexSpec, folded: str) -> int | None:
    """Where the annex's first keyword stands, unless an excluding word comes before it."""
    keyword = _pattern(spec.keywords)
    hit = keyword.search(folded) if keyword else None
    if hit is None:
        return None
    exclude = _pattern(spec.exclude)
    if exclude:
        line_end = folded.find("\n", hit.end())
        before = folded[: line_end if line_end >= 0 else len(folded)]
        if exclude.search(before):
            return None
    return hit.start()


def years_in(text: str) -> tuple[int, ...]:
    """Years written in a file name: "2024-2025" gives both, "2023-25" gives three."""
    folded = fold(text)
    years: set[int] = set()
    for first, last in _RANGE.findall(folded):
        years.update(_expand(first, last))
    years.update(int(y) for y in _SINGLE.findall(folded))
    return tuple(sorted(y for y in years if FIRST_YEAR <= y <= LAST_YEAR))


def financial_years(first_page: str) -> tuple[int, ...]:
    """Financial years a first page states ("exercice 2024", "au 31/12/2025"...)."""
    folded = fold(first_page)
    years: set[int] = set()
    for pattern in _YEAR_CONTEXTS:
        for found in pattern.findall(folded):
            years.update(years_in(found))
    return tuple(sorted(years))


def _expand(first: str, last: str) -> range:
    start = int(first)
    end = int(last) if len(last) == 4 else start // 100 * 100 + int(last)
    if 0 < end - start <= 5:
        return range(start, end + 1)
    return range(start, start + 1)


def recognise_annex(
    filename: str,
    first_page: Callable[[], str] | None,
    annexes: Sequence[AnnexSpec],
    kind: str | None = None,
) -> AnnexMatch:
    """Recognise a file from its name, else from its first page (read only when needed);
    ``kind``, what its content is (``parsers.sniff``), rules out anything but documents."""
    if kind is not None and kind not in READABLE:
        return AnnexMatch(keys=())
    filename = visible(filename)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    folded_name = fold(stem)
    keys = tuple(spec.key for spec in annexes if _first_hit(spec, folded_name) is not None)
    source = "nom"
    text: str | None = None
    if not keys and first_page is not None:
        text = first_page() or ""
        folded_text = fold_lines(text)
        hits = [(_first_hit(spec, folded_text), spec.key) for spec in annexes]
        found = sorted((pos, key) for pos, key in hits if pos is not None)
        keys = (found[0][1],) if found else ()  # the title comes first
        source = "contenu"
    if not keys:
        return AnnexMatch(keys=())
    years: tuple[int, ...] = ()
    if any(spec.years for spec in annexes if spec.key in keys):
        years = years_in(stem)
        if not years and first_page is not None:
            if text is None:
                text = first_page() or ""
            years = financial_years(text)
    return AnnexMatch(keys=keys, years=years, source=source)
