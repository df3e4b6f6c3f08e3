"""Dossier parsing: median time per dossier beside the bare cost of reading the file.

Bare cost, docx: python-docx opening the document and iterating paragraphs and table
cells. Bare cost, PDF: pdfplumber extracting every page's text. Peak memory is the
Python heap's peak during one parse (tracemalloc), and for the isolated PDF parse the
child's maximum resident size.
"""

from __future__ import annotations

import io
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from tests.samples import FIXTURES, SAMPLES


def _median_ms(func: Callable[[], object], repeat: int) -> float:
    func()  # warm caches (imports, label index)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _peak_mib(func: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _bare_docx(data: bytes) -> int:
    import docx

    document = docx.Document(io.BytesIO(data))
    size = 0
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            for row in block.rows:
                for cell in row.cells:
                    size += len(cell.text)
        else:
            size += len(block.text)
    return size


def _bare_pdf(data: bytes) -> int:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return sum(len(page.extract_text() or "") for page in pdf.pages)


def _files(suffix: str) -> list[Path]:
    found = sorted((SAMPLES / "dossiers").glob(f"*{suffix}"))
    found += sorted((FIXTURES / "dossiers").glob(f"*{suffix}"))[:10]
    return found


def run(repeat: int = 15) -> None:
    from parsers.dossier import fill_document, parse_dossier
    from parsers.pdf_reader import read_pdf
    from parsers.word_reader import read_word

    print("== parse: one dossier, median of", repeat, "runs")
    rows = []
    for path in _files(".docx"):
        data = path.read_bytes()
        parse = _median_ms(lambda: parse_dossier(data, path.name, "blossom-2026"), repeat)
        bare = _median_ms(lambda: _bare_docx(data), repeat)
        read = _median_ms(lambda: read_word(data), repeat)
        rows.append((path.name, parse, bare, read, _peak_mib(lambda: parse_dossier(data, path.name, "blossom-2026"))))
    print(f"{'docx':28} {'parse ms':>9} {'bare ms':>8} {'ratio':>6} {'read ms':>8} {'peak MiB':>9}")
    for name, parse, bare, read, peak in rows:
        print(f"{name:28} {parse:9.1f} {bare:8.1f} {parse / bare:6.2f} {read:8.1f} {peak:9.1f}")
    if rows:
        print(f"{'median':28} {statistics.median(r[1] for r in rows):9.1f} {statistics.median(r[2] for r in rows):8.1f}"
              f" {statistics.median(r[1] / r[2] for r in rows):6.2f}")

    pdf_repeat = max(3, repeat // 3)
    rows = []
    for path in _files(".pdf")[:6]:
        data = path.read_bytes()
        isolated = _median_ms(lambda: parse_dossier(data, path.name, "blossom-2026"), pdf_repeat)
        in_process = _median_ms(lambda: read_pdf(data, isolated=False), pdf_repeat)
        doc = read_pdf(data, isolated=False)
        fill = _median_ms(lambda: fill_document(doc, "blossom-2026"), pdf_repeat)
        bare = _median_ms(lambda: _bare_pdf(data), pdf_repeat)
        rows.append((path.name, isolated, in_process, fill, bare, _peak_mib(lambda: read_pdf(data, isolated=False))))
    print(f"{'pdf':28} {'parse ms':>9} {'read ms':>8} {'fill ms':>8} {'bare ms':>8} {'ratio':>6} {'peak MiB':>9}")
    for name, isolated, read, fill, bare, peak in rows:
        print(f"{name:28} {isolated:9.1f} {read:8.1f} {fill:8.1f} {bare:8.1f} {isolated / bare:6.2f} {peak:9.1f}")
    print("parse = whole parse_dossier (PDF read in a capped child process); read = PDF reader in-process;")
    print("fill = labels, answers and normalisation; bare = python-docx iterate / pdfplumber extract_text.")
