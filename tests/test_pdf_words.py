"""parsers.pdf_words and parsers.pdf_tables: pdfium's words and ruled tables are the ones
pdfplumber found (it is still installed, for rotated pages), on the PDF fixtures."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pypdf
import pypdfium2 as pdfium
import pytest

from parsers import pdf_tables, pdf_words
from parsers.pdf_reader import read_pdf
from tests.samples import FIXTURES, SAMPLES

PDFS = sorted((FIXTURES / "dossiers").glob("*.pdf")) + sorted((SAMPLES / "dossiers").glob("*.pdf"))
WITH_TABLES = [p for p in PDFS if "table" in p.name or "identity" in p.name]


def pages(path: Path) -> Iterator[tuple[object, object]]:
    """(pdfium page, pdfplumber page) pairs."""
    pdf = pdfium.PdfDocument(path.read_bytes())
    with pdfplumber.open(path) as plumber:
        for number, theirs in enumerate(plumber.pages):
            ours = pdf[number]
            yield ours, theirs
            ours.close()
    pdf.close()


def our_words(page: pdfium.PdfPage) -> list[pdf_words.Word]:
    left, _, _, top = page.get_mediabox()
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        return pdf_words.page_words(textpage.raw, count, textpage.get_text_range(), left, top)
    finally:
        textpage.close()


@pytest.mark.parametrize("path", PDFS[::3], ids=lambda p: p.name)
def test_words_and_their_boxes_are_pdfplumbers(path: Path) -> None:
    for ours, theirs in pages(path):
        words = our_words(ours)
        expected = theirs.extract_words(keep_blank_chars=False, use_text_flow=False)
        # the same characters in the same order (pdfium ends a word at a gap it sees
        # as a space, pdfplumber only at a space character: words may be cut apart)
        assert "".join(w.text for w in words) == "".join(w["text"] for w in expected)
        boxes = {(w["text"], round(w["x0"], 1), round(w["top"], 1), round(w["bottom"], 1))
                 for w in expected}  # fmt: skip
        found = [(w.text, round(w.x0, 1), round(w.top, 1), round(w.bottom, 1)) for w in words]
        same = sum(box in boxes for box in found)
        assert same >= 0.95 * len(found), (path.name, same, len(found))


@pytest.mark.parametrize("path", WITH_TABLES, ids=lambda p: p.name)
def test_ruled_tables_are_pdfplumbers(path: Path) -> None:
    tables_seen = 0
    for ours, theirs in pages(path):
        left, _, _, top = ours.get_mediabox()
        found = pdf_tables.find_tables(pdf_words.page_edges(ours.raw, left, top))
        expected = theirs.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
        assert [sorted(_rounded(t.cells)) for t in found] == [
            sorted(_rounded(t.cells)) for t in expected
        ]
        assert [[_rounded(r.cells) for r in t.rows] for t in found] == [
            [_rounded(r.cells) for r in t.rows] for t in expected
        ]
        tables_seen += len(found)
    assert tables_seen > 0


def _rounded(cells: list) -> list:
    return [None if c is None else tuple(round(v, 1) for v in c) for c in cells]


def test_segments_make_cells_as_pdfplumber_does() -> None:
    # a 2 x 2 grid drawn as four rectangles whose sides touch
    edges = []
    for x0, top, x1, bottom in ((10, 10, 60, 30), (60, 10, 110, 30), (10, 30, 60, 50), (60, 30, 110, 50)):
        corners = [(x0, top), (x1, top), (x1, bottom), (x0, bottom), (x0, top)]
        edges += [e for a, b in zip(corners, corners[1:]) if (e := pdf_tables.segment_edge(a, b))]
    (table,) = pdf_tables.find_tables(edges)
    assert table.bbox == (10, 10, 110, 50)
    assert [row.cells for row in table.rows] == [
        [(10, 10, 60, 30), (60, 10, 110, 30)],
        [(10, 30, 60, 50), (60, 30, 110, 50)],
    ]
    assert pdf_tables.find_tables(edges[:4]) == []  # one framed box is no table


def test_a_rotated_page_is_still_read() -> None:
    source = SAMPLES / "dossiers" / "p001.pdf"
    reader = pypdf.PdfReader(source)
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.pages[0].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    upright = read_pdf(source.read_bytes(), isolated=False)
    turned = read_pdf(out.getvalue(), isolated=False)  # through pdfplumber, which turns pages
    assert turned.pages == upright.pages
    # the pages left upright read as before
    assert [b.text for b in upright.blocks[-20:]] == [b.text for b in turned.blocks[-20:]]
