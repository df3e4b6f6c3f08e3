"""The normalised value, placeholders, clean text, and the folded forms answers are compared in.

The underscored helpers are shared by the package's modules; they are not its API.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Normalised:
    """A field's value after normalisation, and what a coordinator should check."""

    value: object | None  # JSON-ready: str, float, int, bool, list, or None
    warning: str | None = None  # French, for a coordinator
    detail: str | None = None  # yes_no only: the text after the oui/non
    # No value because the applicant chose nothing (no box ticked, a list left intact): the
    # field is blank, although the warning tells a coordinator why.
    blank: bool = False


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


_LEADING_PUNCTUATION = ":=–—- "  # what may separate a label from its answer (« Prénom = n/a »)


def _placeholder_key(text: str) -> str:
    key = " ".join(_fold(text).split()).rstrip(_TRAILING_PUNCTUATION).lstrip(_LEADING_PUNCTUATION)
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
