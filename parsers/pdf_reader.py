"""Read a PDF dossier into text blocks (``DocumentText``) in reading order.

PDFs come from strangers, so by default parsing runs in a child process capped in wall
time and address space (``parsers.isolation``), and files over a page cap are refused
(``Limits``). pypdfium2 opens the file and gives, page by page, the words with their
boxes (``parsers.pdf_words``) and the segments drawn, from which ``parsers.pdf_tables``
finds the ruled tables; ``parsers.pdf_layout`` turns them into blocks: lines, table
cells, virtual tables for borderless columns, without running headers, footers and page
numbers. Words and tables come out as pdfplumber's ``extract_words`` and ``find_tables``
made them, at about a tenth of the cost; pdfplumber is still used for documents with
rotated pages, whose coordinates pdfium leaves unrotated.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from guichet.errors import EncryptedDocument, ScannedDocument, UnreadableDocument
from parsers import pdf_layout, pdf_tables, pdf_words
from parsers.blocks import DocumentText
from parsers.isolation import READERS, run_isolated

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What one PDF may cost before we give up on it."""

    seconds: float = 60.0
    memory_bytes: int = 2 << 30
    pages: int = 60


DEFAULT_LIMITS = Limits()
TASK = "Lecture du PDF"  # names the reading in the French messages of parsers.isolation
FIRST_PAGE_LIMITS = Limits(seconds=15.0)

MIN_CHARS_PER_PAGE = 20  # a page with fewer visible characters is an image
SCANNED_SHARE = 0.8  # a PDF with this share of image pages is a scan


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
    return run_isolated(
        func,
        args,
        seconds=limits.seconds,
        memory_bytes=limits.memory_bytes,
        task=TASK,
        preload=READERS,
    )


# --- the document ------------------------------------------------------------------


def _read_document(data: bytes, limits: Limits) -> DocumentText:
    """Check the file and lay out its pages with pdfium (pdfplumber for rotated pages)."""
    pdf = _open_with_pdfium(data)
    try:
        page_count = len(pdf)
        if page_count > limits.pages:
            raise UnreadableDocument(
                f"PDF de plus de {limits.pages} pages : ce n’est pas un dossier de candidature."
            )
        if page_count == 0:
            raise UnreadableDocument("Fichier PDF illisible : il ne contient aucune page.")
        pages: list[pdf_layout.Page] = []
        textless: list[int] = []
        rotated = False
        for number in range(page_count):
            page = pdf[number]
            try:
                rotated = rotated or page.get_rotation() % 360 != 0
                read, visible = _read_pdfium_page(page, layout=not rotated)
            finally:
                page.close()
            if visible < MIN_CHARS_PER_PAGE:
                textless.append(number + 1)
            if read is not None:
                pages.append(read)
    except pdfium.PdfiumError as e:
        raise UnreadableDocument(
            f"PDF endommagé : impossible d’en lire le contenu ({type(e).__name__})."
        ) from e
    finally:
        pdf.close()
    if len(textless) >= SCANNED_SHARE * page_count:
        raise ScannedDocument(
            "PDF sans texte (document scanné) : il faut le fichier Word ou un PDF exporté."
        )
    if rotated:  # pdfium gives unrotated coordinates; pdfplumber turns the pages
        pages = _read_with_pdfplumber(data)
    document = DocumentText(
        format="pdf", blocks=pdf_layout.blocks_from_pages(pages), pages=len(pages)
    )
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
    lines = (" ".join(pdf_layout.normalise_text(line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:max_chars]


# --- one page with pdfium ----------------------------------------------------------


def _read_pdfium_page(page: pdfium.PdfPage, *, layout: bool) -> tuple[pdf_layout.Page | None, int]:
    """The page laid out (None unless ``layout``) and its count of visible characters."""
    left, _, right, top = page.get_mediabox()
    textpage = page.get_textpage()
    try:
        count = pdfium_c.FPDFText_CountChars(textpage.raw)
        text = textpage.get_text_range() if count > 0 else ""
        visible = len("".join(text.split()))
        if not layout:
            return None, visible
        words = pdf_words.page_words(textpage.raw, count, text, left, top)
    finally:
        textpage.close()
    edges = pdf_words.page_edges(page.raw, left, top)
    height = top - page.get_mediabox()[1]
    right_edge = max((w.x1 for w in words), default=right - left)
    items: list[pdf_layout.Line | pdf_layout.Table] = []
    for table in pdf_tables.find_tables(edges):
        bbox = table.bbox
        inside = [w for w in words if _centre_in(w, bbox)]
        words = [w for w in words if not _centre_in(w, bbox)]
        items.append(pdf_layout.Table(bbox[1], list(_read_cells(table.rows, inside))))
    items.extend(pdf_layout.Line(line) for line in _group_lines(words))
    items.sort(key=lambda item: item.top)
    return pdf_layout.Page(height, right_edge, items), visible


def _group_lines(words: list[pdf_layout.Word]) -> list[list[pdf_layout.Word]]:
    """Words whose tops are within 3 points (in a chain) on one line, left to right."""
    lines = pdf_words.cluster(words, lambda w: w.top, 3)
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _centre_in(word: pdf_layout.Word, bbox: tuple[float, float, float, float]) -> bool:
    x, y = (word.x0 + word.x1) / 2, (word.top + word.bottom) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _read_cells(rows: Sequence[Any], words: list[pdf_layout.Word]) -> Iterator[pdf_layout.Cell]:
    """The cells of a ruled table, with their lines."""
    for r, row in enumerate(rows):
        for c, bbox in enumerate(row.cells):
            if bbox is not None:  # None: covered by a merged cell
                lines = _group_lines([w for w in words if _centre_in(w, bbox)])
                yield pdf_layout.Cell(r, c, [pdf_layout.Line(line) for line in lines])


# --- rotated pages: pdfplumber -----------------------------------------------------


def _read_with_pdfplumber(data: bytes) -> list[pdf_layout.Page]:
    """Every page through pdfplumber, which applies the pages' rotation (slow: 10x pdfium)."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return [_read_pdfplumber_page(page) for page in pdf.pages]
    except MemoryError:
        raise
    except Exception as e:  # pdfminer raises many unrelated types on malformed files
        raise UnreadableDocument(
            f"PDF endommagé : impossible d’en lire le contenu ({type(e).__name__})."
        ) from e


def _read_pdfplumber_page(page: Any) -> pdf_layout.Page:
    """The lines and ruled tables of one pdfplumber page, in reading order."""
    words = [
        pdf_layout.Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"])
        for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
    ]
    right_edge = max((w.x1 for w in words), default=page.width)
    items: list[pdf_layout.Line | pdf_layout.Table] = []
    for table in page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
        if len(table.cells) < 2:  # a framed paragraph or a page border, not a table
            continue
        inside = [w for w in words if _centre_in(w, table.bbox)]
        words = [w for w in words if not _centre_in(w, table.bbox)]
        items.append(pdf_layout.Table(table.bbox[1], list(_read_cells(table.rows, inside))))
    items.extend(pdf_layout.Line(line) for line in _group_lines(words))
    items.sort(key=lambda item: item.top)
    page.close()  # frees pdfplumber's per-page caches
    return pdf_layout.Page(page.height, right_edge, items)


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
