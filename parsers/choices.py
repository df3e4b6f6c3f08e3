"""Options chosen in a printed list (RÊVES topics): ticked boxes, an X after the line,
or the other options deleted. Options a PDF wrapped over two lines are joined first."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from parsers.labels import key_of
from parsers.normalise import Normalised

TICKED = ("☒", "☑", "✓", "✔", "■", "⊠", "[x]", "[X]", "(x)", "(X)")
UNTICKED = ("☐", "□", "❑", "[ ]", "( )")
BULLETS = "☒☑✓✔■⊠☐□❑[]() -–•·*\uf0b7\t"
TRAILING_MARKS = (" X", " x", "\tX", "\tx", "☒", "✓", "✔")
MATCH = 85
# Nothing chosen: the field is blank (``Normalised.blank``), not unread; these say why.
NO_BOX_TICKED = "aucune case cochée."
LIST_UNTOUCHED = "liste laissée intacte : aucun choix indiqué."


def read_choices(options: tuple[str, ...], lines: list[str]) -> Normalised:
    keys = [key_of(o) for o in options]
    seen: dict[int, bool | None] = {}  # option -> ticked (True), unticked (False), plain (None)
    for item in _items(lines, keys):
        mark, text = _mark_of(item)
        best = process.extractOne(key_of(text), keys, scorer=fuzz.ratio, score_cutoff=MATCH)
        if best is not None and seen.get(best[2]) is None:
            seen[best[2]] = mark
    if not seen:
        return Normalised(None)
    if any(m is True for m in seen.values()):
        chosen = sorted(i for i, m in seen.items() if m is True)
    elif any(m is False for m in seen.values()):
        return Normalised(None, NO_BOX_TICKED, blank=True)
    elif len(seen) == len(options):
        return Normalised(None, LIST_UNTOUCHED, blank=True)
    else:
        chosen = sorted(seen)
    return Normalised([options[i] for i in chosen])


def _items(lines: list[str], keys: list[str]) -> list[str]:
    """Lines regrouped into options: a line that starts no option continues the last one."""
    items: list[str] = []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        starts_item = line.startswith(TICKED + UNTICKED) or line[0] in "-–•·*\uf0b7" or _matches(line, keys)
        if items and not starts_item and not _matches(items[-1], keys):
            items[-1] = f"{items[-1]} {line}"
        else:
            items.append(line)
    return items


def _matches(line: str, keys: list[str]) -> bool:
    _, text = _mark_of(line)
    return process.extractOne(key_of(text), keys, scorer=fuzz.ratio, score_cutoff=MATCH) is not None


def _mark_of(item: str) -> tuple[bool | None, str]:
    mark: bool | None = None
    if item.startswith(TICKED):
        mark = True
    elif item.startswith(UNTICKED):
        mark = False
    text = item.lstrip(BULLETS).rstrip(" *")
    if text.endswith(TRAILING_MARKS):
        mark, text = True, text[:-1].rstrip(" \t-–:")
    return mark, text
