"""Does a subject follow the programme's convention, and which structure does it name?

``Dossier de candidature – COOPCITY 2026 – [nom de votre structure]``, matched
tolerantly: any dash (or a colon, a vertical bar) between the parts, any case, with or
without accents, extra spaces, reply/forward prefixes stacked in any language, and
brackets left around the name. A missing or other year is a warning, not a rejection.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from config.programme import SubjectSpec

# RE:, TR:, Fwd:, AW:, WG:, SV:, Réf. :, RE[2]:, "Re :" (French spacing)...
_PREFIX = re.compile(
    r"^\s*(?:re|tr|fw|fwd|aw|wg|sv|vs|vb|antw|doorst|rv|r|enc|r[eé]f|rif|i|odp|res)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[.]?\s*:\s*",
    re.IGNORECASE,
)
_TAG = re.compile(r"^\s*\[(?:ext|external|externe|spam|suspect|info)[^\]]*\]\s*", re.IGNORECASE)
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SEP = r"(?:\s*[-:|/,;.]\s*|\s+)"  # what may stand between two parts
_YEAR = r"(?P<year>(?:19|20)\d\d)(?:\s*[-/]\s*(?:19|20)?\d\d)?"
_BRACKETS = {"[": "]", "(": ")", "<": ">", "«": "»", '"': '"', "“": "”", "'": "'"}
_PLACEHOLDER = re.compile(r"^\s*nom\s+de\s+(?:votre|la)\s+structure\s*$")


@dataclass(frozen=True)
class SubjectMatch:
    follows: bool  # the fixed parts of the convention are there, in order
    structure: str | None  # the name after them, brackets removed
    year: int | None  # the year written in the subject
    warnings: tuple[str, ...] = field(default=())


def strip_prefixes(subject: str) -> str:
    """The subject without its (stacked) reply and forward prefixes."""
    text = subject
    while True:
        stripped = _TAG.sub("", _PREFIX.sub("", text, count=1), count=1)
        if stripped == text:
            return text.strip()
        text = stripped


def _fold_char(char: str) -> str:
    if char in _DASHES:
        return "-"
    if char in "\u00a0\u2007\u202f\t\r\n":
        return " "
    if char in "\u2018\u2019\u02bc\u00b4`":
        return "'"
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _fold(text: str) -> tuple[str, list[int]]:
    """Case-, accent- and dash-folded text, with the index in ``text`` of each folded char."""
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        folded = _fold_char(char)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def fold(text: str) -> str:
    """Lower case, without accents, every dash a hyphen, every apostrophe straight."""
    return _fold(text)[0]


def _part_pattern(part: str) -> str:
    folded, _ = _fold(part)
    words = [re.escape(w) for w in re.split(r"[\s-]+", folded) if w]
    return r"[\s-]*".join(words)


def _convention(spec: SubjectSpec) -> re.Pattern[str]:
    parts = _SEP.join(_part_pattern(p) for p in spec.parts)
    return re.compile(rf"^[\W_]*{parts}(?:{_SEP}{_YEAR})?(?:{_SEP}(?P<name>.*))?$", re.DOTALL)


def clean_name(name: str) -> str | None:
    """A structure name without the brackets, quotes and dashes left around it."""
    name = name.strip()
    for _ in range(3):
        before = name
        name = name.strip(" \t-–—:|,;.")
        if len(name) >= 2 and name[0] in _BRACKETS and name[-1] == _BRACKETS[name[0]]:
            name = name[1:-1].strip()
        elif name[:1] in "[(<«" and not any(c in name[1:] for c in "])>»"):
            name = name[1:]  # an opening bracket left alone
        elif name[-1:] in "])>»" and not any(c in name[:-1] for c in "[(<«"):
            name = name[:-1]
        if name == before:
            break
    name = re.sub(r"\s+", " ", name).strip()
    if not name or _PLACEHOLDER.match(_fold(name)[0]):
        return None
    return name


def match_subject(subject: str | None, spec: SubjectSpec) -> SubjectMatch:
    """Match a decoded subject against the convention; never raises."""
    text = strip_prefixes(unicodedata.normalize("NFC", subject or ""))
    folded, where = _fold(text)
    found = _convention(spec).match(folded)
    if not found:
        return SubjectMatch(
            follows=False,
            structure=None,
            year=None,
            warnings=(
                f"Objet hors convention : « {subject or ''} » (attendu : « {spec.convention} »).",
            ),
        )
    warnings: list[str] = []
    year = int(found.group("year")) if found.group("year") else None
    if spec.year is not None:
        if year is None:
            warnings.append(f"L'objet ne mentionne pas l'année {spec.year}.")
        elif year != spec.year:
            warnings.append(f"L'objet mentionne l'année {year} au lieu de {spec.year}.")
    structure = None
    if found.group("name") is not None and found.start("name") < len(where):
        start = where[found.start("name")]
        structure = clean_name(text[start:])
    if structure is None:
        warnings.append("L'objet ne donne pas le nom de la structure.")
    return SubjectMatch(follows=True, structure=structure, year=year, warnings=tuple(warnings))
