"""Read a PDF dossier into text blocks (``DocumentText``) in reading order.

Outside tables a block is one visual line. A ruled table (pdfplumber's ``find_tables``)
gives one block per cell. Lines laid out in borderless columns (the signature part of
the BLOSSOM form, built with tab stops) become a *virtual table*: one row per line,
one column per column of text. Running headers, footers and page numbers are dropped.

PDFs come from strangers, so by default parsing runs in a child process capped in
wall time and address space, and files over a page cap are refused (``Limits``).
pypdfium2 does the cheap checks (password, page count, text layer); pdfplumber gives
the words with their positions, and the tables. The child comes from a forkserver, so
(as with any start method but fork) the program's main module must be importable
without side effects: keep the ``if __name__ == "__main__":`` guard in scripts.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import re
import resource
import statistics
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import pdfplumber
import pypdfium2 as pdfium
from pdfplumber.page import Page
from pdfplumber.table import Table
from pdfplumber.utils import cluster_objects

from guichet.errors import EncryptedDocument, GuichetError, ScannedDocument, UnreadableDocument
from parsers.blocks import Block, DocumentText

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What one PDF may cost before we give up on it."""

    seconds: float = 60.0
    memory_bytes: int = 2 << 30
    pages: int = 60


DEFAULT_LIMITS = Limits()
FIRST_PAGE_LIMITS = Limits(seconds=15.0)

MIN_CHARS_PER_PAGE = 20  # a page with fewer visible characters is an image
SCANNED_SHARE = 0.8  # a PDF with this share of image pages is a scan
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


# --- public API --------------------------------------------------------------------


def read_pdf(
    data: bytes, *, isolated: bool = True, limits: Limits = DEFAULT_LIMITS
) -> DocumentText:
    """Read a PDF into blocks; raise ``UnreadableDocument`` (or a subclass) with a French reason.

    ``isolated=False`` parses in this process (tests, benchmarks): the page cap
    still holds, the time and memory caps do not.
    """
    if isolated:
        return _run_isolated(_read_document, (data, limits), limits)
    return _read_document(data, limits)


def pdf_first_page_text(
    data: bytes, max_chars: int = 4000, *, isolated: bool = True, limits: Limits = FIRST_PAGE_LIMITS
) -> str:
    """The text of the first page, for recognising annexes; "" when it cannot be read."""
    try:
        if isolated:
            return _run_isolated(_extract_first_page_text, (data, max_chars), limits)
        return _extract_first_page_text(data, max_chars)
    except Exception:  # noqa: BLE001 - callers rely on this never raising
        return ""


# --- isolation ---------------------------------------------------------------------


def _run_isolated(func: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
    """Call ``func(*args)`` in a child process capped in wall time and address space."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["parsers.pdf_reader"])  # ignored once the server runs
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_serve_child, args=(sender, func, args, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.seconds):
            raise UnreadableDocument(
                f"Lecture du PDF abandonnée après {limits.seconds:g} s : "
                "fichier trop complexe ou endommagé."
            )
        outcome, value = receiver.recv()
    except EOFError:
        child.join(5)
        raise UnreadableDocument(
            "Lecture du PDF interrompue : le processus de lecture s’est arrêté "
            f"(code {child.exitcode})."
        ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if outcome == "error":
        raise value
    return value


def _serve_child(
    sender: Connection, func: Callable[..., Any], args: tuple[Any, ...], limits: Limits
) -> None:
    """The child side of ``_run_isolated``: cap, run, send back the result or the error."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu_seconds = math.ceil(limits.seconds) + 5  # in case the parent is gone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    try:
        sender.send(("ok", func(*args)))
    except GuichetError as e:
        sender.send(("error", e))
    except MemoryError:
        gigabytes = limits.memory_bytes / (1 << 30)
        sender.send(
            (
                "error",
                UnreadableDocument(
                    f"Lecture du PDF abandonnée : plus de {gigabytes:g} Go de mémoire nécessaires "
                    "(fichier trop complexe ou endommagé)."
                ),
            )
        )
    except Exception as e:  # noqa: BLE001 - a bug here must still reach the parent
        sender.send(
            ("error", UnreadableDocument(f"Lecture du PDF impossible ({type(e).__name__})."))
        )
    finally:
        sender.close()


# --- the document ------------------------------------------------------------------


def _read_document(data: bytes, limits: Limits) -> DocumentText:
    """Check the file with pdfium, then lay out its pages with pdfplumber."""
    textless = _check_pages(data, limits)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [_read_page(page) for page in pdf.pages]
    except MemoryError:
        raise
    except Exception as e:  # pdfminer raises many unrelated types on malformed files
        raise UnreadableDocument(
            f"PDF endommagé : impossible d’en lire le contenu ({type(e).__name__})."
        ) from e
    document = DocumentText(format="pdf", blocks=_blocks_from_pages(pages), pages=len(pages))
    if textless:
        numbers = ", ".join(map(str, textless))
        document.notes.append(f"Page(s) {numbers} sans texte (scannées ?) : contenu non lu.")
    if any("\ufffd" in b.text or "(cid:" in b.text for b in document.blocks):
        document.notes.append(
            "Caractères illisibles dans le PDF (police sans table Unicode) : "
            "des réponses peuvent être mal lues."
        )
    return document


def _open_with_pdfium(data: bytes) -> pdfium.PdfDocument:
    """Open the PDF with the empty user password, or say why it cannot be opened."""
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if e.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise EncryptedDocument(
                "PDF protégé par un mot de passe : impossible de le lire."
            ) from e
        raise UnreadableDocument("Fichier PDF illisible : format invalide ou endommagé.") from e


def _check_pages(data: bytes, limits: Limits) -> list[int]:
    """Apply the page cap and refuse a scan; return the numbers of the pages without text."""
    pdf = _open_with_pdfium(data)
    try:
        page_count = len(pdf)
        if page_count > limits.pages:
            raise UnreadableDocument(
                f"PDF de plus de {limits.pages} pages : ce n’est pas un dossier de candidature."
            )
        if page_count == 0:
            raise UnreadableDocument("Fichier PDF illisible : il ne contient aucune page.")
        textless = [
            number
            for number, page in enumerate(pdf, start=1)
            if _count_visible_chars(page) < MIN_CHARS_PER_PAGE
        ]
    finally:
        pdf.close()
    if len(textless) >= SCANNED_SHARE * page_count:
        raise ScannedDocument(
            "PDF sans texte (document scanné) : il faut le fichier Word ou un PDF exporté."
        )
    return textless


def _count_visible_chars(page: pdfium.PdfPage) -> int:
    textpage = page.get_textpage()
    try:
        return sum(not c.isspace() for c in textpage.get_text_range())
    finally:
        textpage.close()
        page.close()


def _extract_first_page_text(data: bytes, max_chars: int) -> str:
    pdf = _open_with_pdfium(data)
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        textpage.close()
        page.close()
    finally:
        pdf.close()
    lines = (" ".join(_normalise(line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:max_chars]


def _blocks_from_pages(pages: list[_Page]) -> list[Block]:
    """Clean the pages up and number the tables, in reading order."""
    _drop_page_furniture(pages)
    for page in pages:
        _split_columns(page)
        page.items = _gather_virtual_tables(page.items)
    _join_virtual_tables_across_pages(pages)
    items = [item for page in pages for item in page.items]
    lexicon = _collect_words(line.text for item in items for line in item.lines())
    for upper, lower in pairwise(items):
        if isinstance(upper, _Line) and isinstance(lower, _Line):
            _join_hyphenated(upper, lower, lexicon)
    blocks: list[Block] = []
    tables = 0
    for item in items:
        if isinstance(item, _Table):
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


# --- one page ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass(slots=True)
class _Line:
    """One visual line outside tables, cut into column segments when it has columns."""

    words: list[_Word]
    text: str = ""
    soft_break: bool = False  # ends in a soft hyphen: its last word goes on at the next line
    segments: list[list[_Word]] = field(default_factory=list)

    def __post_init__(self) -> None:
        raw = " ".join(w.text for w in self.words)
        self.soft_break = raw.endswith("\u00ad")
        self.text = _normalise(raw)
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

    def lines(self) -> list[_Line]:
        return [self]


@dataclass(slots=True)
class _Cell:
    row: int
    col: int
    lines: list[_Line]


@dataclass(slots=True)
class _Table:
    """A ruled table, or a virtual one made of column lines."""

    top: float
    cells: list[_Cell]  # row by row; empty cells too (a blank answer is not a missing one)
    column_starts: list[float] | None = None  # virtual tables only

    def lines(self) -> list[_Line]:
        return [line for cell in self.cells for line in cell.lines]

    def row_count(self) -> int:
        return max((cell.row for cell in self.cells), default=-1) + 1


@dataclass(slots=True)
class _Page:
    height: float
    right_edge: float  # where the longest lines end
    items: list[_Line | _Table]  # in reading order

    def lines(self) -> list[_Line]:
        return [item for item in self.items if isinstance(item, _Line)]


def _read_page(page: Page) -> _Page:
    """The lines and ruled tables of one page, in reading order."""
    words = [
        _Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"])
        for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
    ]
    right_edge = max((w.x1 for w in words), default=page.width)
    items: list[_Line | _Table] = []
    for table in page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
        if len(table.cells) < 2:  # a framed paragraph or a page border, not a table
            continue
        inside = [w for w in words if _centre_in(w, table.bbox)]
        words = [w for w in words if not _centre_in(w, table.bbox)]
        items.append(_Table(table.bbox[1], list(_read_cells(table, inside))))
    items.extend(_Line(line) for line in _group_lines(words))
    items.sort(key=lambda item: item.top)
    page.close()  # frees pdfplumber's per-page caches
    return _Page(page.height, right_edge, items)


def _group_lines(words: list[_Word]) -> list[list[_Word]]:
    lines = cluster_objects(words, lambda w: w.top, tolerance=3)
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _centre_in(word: _Word, bbox: tuple[float, float, float, float]) -> bool:
    x, y = (word.x0 + word.x1) / 2, (word.top + word.bottom) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _read_cells(table: Table, words: list[_Word]) -> Iterator[_Cell]:
    """The cells of a ruled table, with their lines."""
    for r, row in enumerate(table.rows):
        for c, bbox in enumerate(row.cells):
            if bbox is not None:  # None: covered by a merged cell
                lines = _group_lines([w for w in words if _centre_in(w, bbox)])
                yield _Cell(r, c, [_Line(line) for line in lines])


def _join_cell_lines(lines: list[_Line], lexicon: set[str]) -> str:
    """A cell's lines as one text: a space within a paragraph, "\\n" between paragraphs."""
    for upper, lower in pairwise(lines):
        _join_hyphenated(upper, lower, lexicon)
    text = ""
    previous: _Line | None = None
    for line in (line for line in lines if line.text):
        if previous is not None:
            text += "\n" if _starts_paragraph(previous, line) else " "
        text += line.text
        previous = line
    return text


def _starts_paragraph(previous: _Line, line: _Line) -> bool:
    """Whether ``line`` sits further below ``previous`` than a wrapped line would."""
    return line.top - previous.bottom > 0.5 * (previous.bottom - previous.top)


# --- headers and footers -----------------------------------------------------------


def _drop_page_furniture(pages: list[_Page]) -> None:
    """Remove running headers and footers, and page numbers."""
    outer = [_outer_lines(page) for page in pages]
    repeated = _repeated_texts(outer, len(pages))
    dropped = _page_number_lines(outer, len(pages)) | {
        id(line) for lines in outer for line in lines if _furniture_key(line.text) in repeated
    }
    for page in pages:
        page.items = [item for item in page.items if id(item) not in dropped]


def _outer_lines(page: _Page) -> list[_Line]:
    """The first and last few lines of a page, when they sit in the header or footer band."""
    lines = page.lines()
    band = FURNITURE_BAND * page.height
    firsts = [line for line in lines[:FURNITURE_LINES] if line.bottom <= band]
    lasts = [line for line in lines[-FURNITURE_LINES:] if line.top >= page.height - band]
    return firsts + [line for line in lasts if line not in firsts]


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text).casefold()


def _repeated_texts(outer: list[list[_Line]], page_count: int) -> set[str]:
    """Header and footer texts found on most pages (digits aside)."""
    seen_on = Counter(
        key
        for lines in outer
        for key in {
            _furniture_key(line.text) for line in lines if not _PAGE_NUMBER.fullmatch(line.text)
        }
    )
    return {key for key, pages in seen_on.items() if pages >= 2 and pages > page_count / 2}


def _page_number_lines(outer: list[list[_Line]], page_count: int) -> set[int]:
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


def _split_columns(page: _Page) -> None:
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


def _runs_of_lines(items: list[_Line | _Table]) -> Iterator[list[_Line]]:
    """The sequences of lines between tables."""
    run: list[_Line] = []
    for item in items:
        if isinstance(item, _Line):
            run.append(item)
        elif run:
            yield run
            run = []
    if run:
        yield run


def _wide_gaps(line: _Line) -> list[int]:
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
    line: _Line, after: int, neighbours: list[tuple[_Line, list[int]]], right_edge: float
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


def _gather_virtual_tables(items: list[_Line | _Table]) -> list[_Line | _Table]:
    """Replace each run of column lines, with the lines belonging to it, by a table."""
    gathered: list[_Line | _Table] = []
    position = 0
    for start, end in _column_runs(items):
        gathered.extend(items[position:start])
        gathered.append(_virtual_table([i for i in items[start:end] if isinstance(i, _Line)]))
        position = end
    gathered.extend(items[position:])
    return gathered


def _column_runs(items: list[_Line | _Table]) -> list[tuple[int, int]]:
    """Index ranges of the column runs: column lines, a wrapped line or two between them,
    and a line just before or after whose left column is empty."""
    runs: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        if not (isinstance(item, _Line) and item.has_columns):
            continue
        if runs and i - runs[-1][1] <= MAX_LINES_BETWEEN_COLUMN_LINES:
            between = items[runs[-1][1] : i]
            starts = _column_starts(items[runs[-1][0] : i + 1])
            if all(isinstance(b, _Line) and _is_in_column(b.x0, starts) for b in between):
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


def _join_virtual_tables_across_pages(pages: list[_Page]) -> None:
    """Continue a page-ending virtual table with the same columns starting the next page.

    ("Nom, prénom" at the foot of a page, the names at the top of the next one.)
    Ruled tables are left as two tables: their first row may or may not go on.
    """
    for page, following in pairwise(pages):
        if not (page.items and following.items):
            continue
        last, first = page.items[-1], following.items[0]
        if (
            isinstance(last, _Table)
            and isinstance(first, _Table)
            and last.column_starts is not None
            and first.column_starts is not None
            and len(last.column_starts) == len(first.column_starts)
            and all(abs(a - b) <= ALIGN for a, b in zip(last.column_starts, first.column_starts))
        ):
            rows = last.row_count()
            last.cells.extend(_Cell(c.row + rows, c.col, c.lines) for c in first.cells)
            following.items.pop(0)


def _column_starts(items: Sequence[_Line | _Table]) -> list[float]:
    """Where the columns of these lines start, left to right."""
    starts: list[float] = []
    column_lines = [item for item in items if isinstance(item, _Line) and item.has_columns]
    for x in sorted(segment[0].x0 for line in column_lines for segment in line.segments):
        if not starts or x - starts[-1] > 2 * ALIGN:
            starts.append(x)
    return starts


def _is_in_column(x: float, starts: list[float]) -> bool:
    return any(abs(x - s) <= ALIGN for s in starts)


def _column_of(x: float, starts: list[float]) -> int:
    return max((c for c, s in enumerate(starts) if s <= x + ALIGN), default=0)


def _fills_right_column_only(item: _Line | _Table, starts: list[float]) -> bool:
    return (
        isinstance(item, _Line)
        and not item.has_columns
        and _is_in_column(item.x0, starts)
        and _column_of(item.x0, starts) > 0
    )


def _virtual_table(lines: list[_Line]) -> _Table:
    """A table of one column per column start and one row per paragraph: a line and
    the lines wrapped under it ("Fonction : Responsable du" / "développement")."""
    starts = _column_starts(lines)
    rows: list[list[_Line]] = []
    for line in lines:
        if rows and not _starts_paragraph(rows[-1][-1], line):
            rows[-1].append(line)
        else:
            rows.append([line])
    cells = [_Cell(r, c, []) for r in range(len(rows)) for c in range(len(starts))]
    for r, row in enumerate(rows):
        for segment in (segment for line in row for segment in line.segments):
            cell = cells[r * len(starts) + _column_of(segment[0].x0, starts)]
            cell.lines.append(_Line(segment))
    return _Table(lines[0].top, cells, starts)


# --- text --------------------------------------------------------------------------


def _normalise(text: str) -> str:
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


def _join_hyphenated(upper: _Line, lower: _Line, lexicon: set[str]) -> None:
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


def main(argv: list[str] | None = None) -> int:
    """Print a PDF's blocks, tables as [table,row,col] (``python -m parsers.pdf_reader F``).

    A tuning aid for trusted files: it reads them in this process.
    """
    for path in sys.argv[1:] if argv is None else argv:
        with open(path, "rb") as f:
            document = read_pdf(f.read(), isolated=False)
        for block in document.blocks:
            where = f"[{block.table},{block.row},{block.col}] " if block.in_table else ""
            print(f"{where}{block.text}")
        for note in document.notes:
            print(f"NOTE: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
