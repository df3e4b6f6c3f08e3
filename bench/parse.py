"""Dossier parsing: median time per dossier beside the bare cost of reading the file.

Bare cost, docx: python-docx opening the document and iterating paragraphs and table
cells. Bare cost, PDF: pdfplumber extracting every page's text. Peak memory is the
maximum resident size of a fresh process that imports guichet and reads one file
(imports alone take most of it).
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
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


_RSS_PROBE = """
import sys
from parsers.dossier import parse_dossier
from parsers.word_reader import read_word
data = open(sys.argv[1], "rb").read()
if sys.argv[1].endswith(".pdf"):
    from parsers.pdf_reader import read_pdf
    doc = read_pdf(data, isolated=False)
else:
    parse_dossier(data, sys.argv[1])
# VmHWM, not ru_maxrss: the latter is inherited from the parent across fork and exec
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(int(hwm.split()[1]) / 1024)
"""


def _peak_mib(path: Path) -> float:
    """Maximum resident size of a fresh process that imports guichet and reads one file
    (lxml and pdfminer allocate outside Python's heap, which tracemalloc would miss)."""
    out = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


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
        rows.append((path.name, parse, bare, read, _peak_mib(path)))
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
        rows.append((path.name, isolated, in_process, fill, bare, _peak_mib(path)))
    print(f"{'pdf':28} {'parse ms':>9} {'read ms':>8} {'fill ms':>8} {'bare ms':>8} {'ratio':>6} {'peak MiB':>9}")
    for name, isolated, read, fill, bare, peak in rows:
        print(f"{name:28} {isolated:9.1f} {read:8.1f} {fill:8.1f} {bare:8.1f} {isolated / bare:6.2f} {peak:9.1f}")
    print("parse = whole parse_dossier (PDF read in a capped child process); read = PDF reader in-process;")
    print("fill = labels, answers and normalisation; bare = python-docx iterate / pdfplumber extract_text.")
