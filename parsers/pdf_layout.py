"""Lay the words of PDF pages out as text blocks in reading order: geometry only, no PDF library.

Outside tables a block is one visual line. A ruled table gives one block per cell. Lines
laid out in borderless columns (the signature part of the BLOSSOM form, built with tab
stops) become a *virtual table*: one row per line, one column per column of text. Running
headers, footers and page numbers are dropped, and words a line break split after a hyphen
are joined again when the document shows how.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from parsers.blocks import Block

COLUMN_GAP = 4.0  # gap, in average character widths, that may separate two columns
WIDE_GAP = 10.0  # gap that separates columns even without an aligned neighbour line
ALIGN = 3.0  # points: two column starts closer than this are the same column
MAX_LINES_BETWEEN_COLUMN_LINES = 2  # a label or answer wrapping inside a column
FURNITURE_BAND = 0.12  # share of the page height, top and bottom, holding headers/footers
FURNITURE_LINES = 3  # headers and footers are among the first or last lines of a page

_KEPT_FROM_NFKC = re.compile("([¹²³⁰ⁱ⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ₀₁₂₃₄₅₆₇₈₉ªº])")  # "120 m²" stays
_PAGE_NUMBER = re.compile(
    r"[-–—]?\s*(?:page|pag\.|p\.|pagina|seite)?\s*(\d{1,3})"
    r"(?:\s*(?:/|of|sur|de|van|von)\s*(\d{1,3}))?\s*[-–—]?",
    re.IGNORECASE,
)
_HYPHEN_AT_END = re.compile(r"(\S*[^\W_])-$")  # a word or number ending in "-", not a dash
_EDGE_PUNCTUATION = ".,;:!?()[]«»\"'’…"
# Second halves of French compounds ("ceux-ci", "a-t-il") that are never the end of a
# hyphenated word ("le", "leur", "tu" are: "vil-le", "va-leur", "ver-tu").
_COMPOUND_TAILS = frozenset(
    {"ci", "là", "même", "mêmes", "être", "delà", "dessus", "dessous", "dedans", "dehors"}
    | {"il", "ils", "elle", "elles", "on", "je", "nous", "vous", "moi", "toi", "eux"}
    | {"t-il", "t-ils", "t-elle", "t-elles", "t-on"}
)


# --- the page model ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A word and its box on the page, in points from the top left."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass(slots=True)
class Line:
    """One visual line outside tables, cut into column segments when it has columns."""

    words: list[Word]
    text: str = ""
    soft_break: bool = False  # ends in a soft hyphen: its last word goes on at the next line
    segments: list[list[Word]] = field(default_factory=list)

    def __post_init__(self) -> None:
        raw = " ".join(w.text for w in self.words)
        self.soft_break = raw.endswith("\u00ad")
        self.text = normalise_text(raw)
        self.segments = [self.words]

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def char_width(self) -> float:
        chars = sum(len(w.text) for w in self.words)
        return sum(w.x1 - w.x0 for w in self.words) / max(chars, 1)

    @property
    def has_columns(self) -> bool:
        return len(self.segments) > 1

    def lines(self) -> list[Line]:
        return [self]


@dataclass(slots=True)
class Cell:
    """One cell of a table, with the lines written in it."""

    row: int
    col: int
    lines: list[Line]


@dataclass(slots=True)
class Table:
    """A ruled table, or a virtual one made of column lines."""

    top: float
    cells: list[Cell]  # row by row; empty cells too (a blank answer is not a missing one)
    column_starts: list[float] | None = None  # virtual tables only

    def lines(self) -> list[Line]:
        return [line for cell in self.cells for line in cell.lines]

    def row_count(self) -> int:
        return max((cell.row for cell in self.cells), default=-1) + 1


@dataclass(slots=True)
class Page:
    """One page as lines and tables, the unit the layout works on."""

    height: float
    right_edge: float  # where the longest lines end
    items: list[Line | Table]  # in reading order

    def lines(self) -> list[Line]:
        return [item for item in self.items if isinstance(item, Line)]


# --- blocks ------------------------------------------------------------------------


def blocks_from_pages(pages: list[Page]) -> list[Block]:
    """Clean the pages up and number the tables, in reading order."""
    _drop_page_furniture(pages)
    for page in pages:
        _split_columns(page)
        page.items = _gather_virtual_tables(page.items)
    _join_virtual_tables_across_pages(pages)
    items = [item for page in pages for item in page.items]
    lexicon = _collect_words(line.text for item in items for line in item.lines())
    for upper, lower in pairwise(items):
        if isinstance(upper, Line) and isinstance(lower, Line):
            _join_hyphenated(upper, lower, lexicon)
    blocks: list[Block] = []
    tables = 0
    for item in items:
        if isinstance(item, Table):
            blocks.extend(
                Block(
                    _join_cell_lines(cell.lines, lexicon), table=tables, row=cell.row, col=cell.col
                )
                for cell in item.cells
            )
            tables += 1
        elif item.text:
            blocks.append(Block(item.text))
    return blocks


def _join_cell_lines(lines: list[Line], lexicon: set[str]) -> str:
    """A cell's lines as one text: a space within a paragraph, "\\n" between paragraphs."""
    for upper, lower in pairwise(lines):
        _join_hyphenated(upper, lower, lexicon)
    text = ""
    previous: Line | None = None
    for line in (line for line in lines if line.text):
        if previous is not None:
            text += "\n" if _starts_paragraph(previous, line) else " "
        text += line.text
        previous = line
    return text


def _starts_paragraph(previous: Line, line: Line) -> bool:
    """Whether ``line`` sits further below ``previous`` than a wrapped line would."""
    return line.top - previous.bottom > 0.5 * (previous.bottom - previous.top)


# --- headers and footers -----------------------------------------------------------


def _drop_page_furniture(pages: list[Page]) -> None:
    """Remove running headers and footers, and page numbers."""
    outer = [_outer_lines(page) for page in pages]
    repeated = _repeated_texts(outer, len(pages))
    dropped = _page_number_lines(outer, len(pages)) | {
        id(line) for lines in outer for line in lines if _furniture_key(line.text) in repeated
    }
    for page in pages:
        page.items = [item for item in page.items if id(item) not in dropped]


def _outer_lines(page: Page) -> list[Line]:
    """The first and last few lines of a page, when they sit in the header or footer band."""
    lines = page.lines()
    band = FURNITURE_BAND * page.height
    firsts = [line for line in lines[:FURNITURE_LINES] if line.bottom <= band]
    lasts = [line for line in lines[-FURNITURE_LINES:] if line.top >= page.height - band]
    return firsts + [line for line in lasts if line not in firsts]


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text).casefold()


def _repeated_texts(outer: list[list[Line]], page_count: int) -> set[str]:
    """Header and footer texts found on most pages (digits aside)."""
    seen_on = Counter(
        key
        for lines in outer
        for key in {
            _furniture_key(line.text) for line in lines if not _PAGE_NUMBER.fullmatch(line.text)
        }
    )
    return {key for key, pages in seen_on.items() if pages >= 2 and pages > page_count / 2}


def _page_number_lines(outer: list[list[Line]], page_count: int) -> set[int]:
    """Ids of the lines numbering the pages: "3", "- 3 -", "Page 3 of 8", "3/8"...

    A bare number counts when the numbers on most pages run with the pages.
    """
    found: list[tuple[int, int, bool]] = []  # (line id, number - page index, total given)
    for index, lines in enumerate(outer, start=1):
        for line in lines:
            if m := _PAGE_NUMBER.fullmatch(line.text):
                found.append(
                    (id(line), int(m[1]) - index, m[2] is not None and int(m[2]) == page_count)
                )
    offsets = Counter(offset for _, offset, _ in found)
    usual, count = offsets.most_common(1)[0] if offsets else (0, 0)
    running = count >= min(2, page_count)
    return {line for line, offset, total in found if total or (running and offset == usual)}


# --- borderless columns ------------------------------------------------------------


def _split_columns(page: Page) -> None:
    """Cut lines into column segments where a wide gap lines up with the lines around it."""
    for run in _runs_of_lines(page.items):
        wide = [_wide_gaps(line) for line in run]
        for i, line in enumerate(run):
            neighbours = [
                (run[k], wide[k])
                for k in (i - 1, i + 1)
                if 0 <= k < len(run) and abs(run[k].top - line.top) <= 3 * (line.bottom - line.top)
            ]
            breaks = [g for g in wide[i] if _is_column_break(line, g, neighbours, page.right_edge)]
            cuts = [0, *(g + 1 for g in breaks), len(line.words)]
            line.segments = [line.words[a:b] for a, b in pairwise(cuts)]


def _runs_of_lines(items: list[Line | Table]) -> Iterator[list[Line]]:
    """The sequences of lines between tables."""
    run: list[Line] = []
    for item in items:
        if isinstance(item, Line):
            run.append(item)
        elif run:
            yield run
            run = []
    if run:
        yield run


def _wide_gaps(line: Line) -> list[int]:
    """Indexes i of the gaps after word i that are wide enough to separate columns."""
    gaps = [b.x0 - a.x1 for a, b in pairwise(line.words)]
    threshold = COLUMN_GAP * line.char_width
    ordinary = [g for g in gaps if g < threshold]
    usual = statistics.median(ordinary) if ordinary else 0.0
    wide = [i for i, g in enumerate(gaps) if g >= threshold and g >= 3 * usual]
    if len(gaps) >= 2 and len(wide) == len(gaps) and max(gaps) < 1.3 * min(gaps):
        return []  # evenly spread words: a justified line
    return wide


def _is_column_break(
    line: Line, after: int, neighbours: list[tuple[Line, list[int]]], right_edge: float
) -> bool:
    """Whether the wide gap after word ``after`` is very wide, or lines up with a neighbour's."""
    start = line.words[after + 1].x0
    width = start - line.words[after].x1
    if width >= WIDE_GAP * line.char_width and line.x1 < right_edge - 2 * line.char_width:
        return True  # justified lines reach the right edge; column lines seldom do
    for other, other_gaps in neighbours:
        starts = [other.words[g + 1].x0 for g in other_gaps]
        if other.x0 > line.x0 + COLUMN_GAP * line.char_width:
            starts.append(other.x0)  # its left column is empty
        if any(abs(s - start) <= ALIGN for s in starts):
            return True
    return False


def _gather_virtual_tables(items: list[Line | Table]) -> list[Line | Table]:
    """Replace each run of column lines, with the lines belonging to it, by a table."""
    gathered: list[Line | Table] = []
    position = 0
    for start, end in _column_runs(items):
        gathered.extend(items[position:start])
        gathered.append(_virtual_table([i for i in items[start:end] if isinstance(i, Line)]))
        position = end
    gathered.extend(items[position:])
    return gathered


def _column_runs(items: list[Line | Table]) -> list[tuple[int, int]]:
    """Index ranges of the column runs: column lines, a wrapped line or two between them,
    and a line just before or after whose left column is empty."""
    runs: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        if not (isinstance(item, Line) and item.has_columns):
            continue
        if runs and i - runs[-1][1] <= MAX_LINES_BETWEEN_COLUMN_LINES:
            between = items[runs[-1][1] : i]
            starts = _column_starts(items[runs[-1][0] : i + 1])
            if all(isinstance(b, Line) and _is_in_column(b.x0, starts) for b in between):
                runs[-1] = (runs[-1][0], i + 1)
                continue
        runs.append((i, i + 1))
    extended: list[tuple[int, int]] = []
    for start, end in runs:
        starts = _column_starts(items[start:end])
        if (
            start > 0
            and _fills_right_column_only(items[start - 1], starts)
            and (not extended or extended[-1][1] < start)
        ):
            start -= 1
        if end < len(items) and _fills_right_column_only(items[end], starts):
            end += 1
        extended.append((start, end))
    return extended


def _join_virtual_tables_across_pages(pages: list[Page]) -> None:
    """Continue a page-ending virtual table with the same columns starting the next page.

    ("Nom, prénom" at the foot of a page, the names at the top of the next one.)
    Ruled tables are left as two tables: their first row may or may not go on.
    """
    for page, following in pairwise(pages):
        if not (page.items and following.items):
            continue
        last, first = page.items[-1], following.items[0]
        if (
            isinstance(last, Table)
            and isinstance(first, Table)
            and last.column_starts is not None
            and first.column_starts is not None
            and len(last.column_starts) == len(first.column_starts)
            and all(abs(a - b) <= ALIGN for a, b in zip(last.column_starts, first.column_starts))
        ):
            rows = last.row_count()
            last.cells.extend(Cell(c.row + rows, c.col, c.lines) for c in first.cells)
            following.items.pop(0)


def _column_starts(items: Sequence[Line | Table]) -> list[float]:
    """Where the columns of these lines start, left to right."""
    starts: list[float] = []
    column_lines = [item for item in items if isinstance(item, Line) and item.has_columns]
    for x in sorted(segment[0].x0 for line in column_lines for segment in line.segments):
        if not starts or x - starts[-1] > 2 * ALIGN:
            starts.append(x)
    return starts


def _is_in_column(x: float, starts: list[float]) -> bool:
    return any(abs(x - s) <= ALIGN for s in starts)


def _column_of(x: float, starts: list[float]) -> int:
    return max((c for c, s in enumerate(starts) if s <= x + ALIGN), default=0)


def _fills_right_column_only(item: Line | Table, starts: list[float]) -> bool:
    return (
        isinstance(item, Line)
        and not item.has_columns
        and _is_in_column(item.x0, starts)
        and _column_of(item.x0, starts) > 0
    )


def _virtual_table(lines: list[Line]) -> Table:
    """A table of one column per column start and one row per paragraph: a line and
    the lines wrapped under it ("Fonction : Responsable du" / "développement")."""
    starts = _column_starts(lines)
    rows: list[list[Line]] = []
    for line in lines:
        if rows and not _starts_paragraph(rows[-1][-1], line):
            rows[-1].append(line)
        else:
            rows.append([line])
    cells = [Cell(r, c, []) for r in range(len(rows)) for c in range(len(starts))]
    for r, row in enumerate(rows):
        for segment in (segment for line in row for segment in line.segments):
            cell = cells[r * len(starts) + _column_of(segment[0].x0, starts)]
            cell.lines.append(Line(segment))
    return Table(lines[0].top, cells, starts)


# --- text --------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """NFKC (ligatures, no-break spaces...) but superscripts kept; soft hyphens dropped."""
    parts = _KEPT_FROM_NFKC.split(text.replace("\u00ad", ""))
    return "".join(
        part if _KEPT_FROM_NFKC.fullmatch(part) else unicodedata.normalize("NFKC", part)
        for part in parts
    )


def _bare(word: str) -> str:
    """A word without edge punctuation nor elided article ("l'organisation" -> "organisation")."""
    return re.split(r"['’]", word)[-1].strip(_EDGE_PUNCTUATION).casefold()


def _collect_words(texts: Iterable[str]) -> set[str]:
    return {_bare(word) for text in texts for word in re.split(r"[\s'’]+", text)}


def _join_hyphenated(upper: Line, lower: Line, lexicon: set[str]) -> None:
    """Move back to ``upper`` the end of a word that the line break split after a hyphen."""
    if upper.has_columns or lower.has_columns:
        return
    tail, _, rest = lower.text.partition(" ")
    joined = _rejoin(upper.text, upper.soft_break, tail, lexicon)
    if joined is not None:
        upper.text, lower.text = joined, rest


def _rejoin(line: str, soft_break: bool, tail: str, lexicon: set[str]) -> str | None:
    """``line`` with ``tail`` put back when sure the break split a word there, else None.

    Sure means: a soft hyphen; a compound the document writes elsewhere or a known
    one ("ceux-" / "ci"), or a capital or digit after the hyphen ("Neder-" /
    "Over-Heembeek"), hyphen kept; a word the document writes elsewhere
    ("organisa-" / "tion"), hyphen dropped. Not sure: "quel-" / "les" (quelles?).
    """
    word = _bare(tail)
    if not word:
        return None
    if soft_break:
        return line + tail
    head = _HYPHEN_AT_END.search(line)
    if head is None:
        return None
    first_part = _bare(head[1])
    if f"{first_part}-{word}" in lexicon or word in _COMPOUND_TAILS:
        return line + tail
    if first_part + word in lexicon:
        return line[:-1] + tail
    start = tail.strip(_EDGE_PUNCTUATION)[0]
    if start.isdigit() or (start.isupper() and not head[1].isupper()):
        return line + tail  # hyphenation never capitalises; "ORGANISA-" / "TION" is unsure
    return None
