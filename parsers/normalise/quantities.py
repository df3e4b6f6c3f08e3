"""Numbers written in digits or in French words (``3,5 ETP``, ``1 200``, ``deux``), and scores."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from parsers.normalise.text import Normalised, _answer, _fold, _quoted, _sentences

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
