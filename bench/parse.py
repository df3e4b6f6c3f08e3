"""Dossier parsing and start-up: each figure beside its floor, measured in the same run.

- .docx: the whole parse (read in the warm child, aligned, filled, normalised) beside
  python-docx opening the document and iterating its paragraphs and table cells;
- PDF: the reader in this process, and the whole parse (warm child), beside pypdfium2's
  bare text of every page;
- start-up: ``guichet parse`` of a .docx and ``guichet check`` of a mail, whole processes,
  beside ``python -c pass``.

Peak memory is the maximum resident size of a fresh process that imports guichet and
reads one file (imports alone take most of it).
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

ROOT = Path(__file__).resolve().parent.parent


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
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    size = 0
    try:
        for page in pdf:
            textpage = page.get_textpage()
            size += len(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return size


PACKAGES = ("config", "desk", "guichet", "ingest", "notifications", "parsers", "triage")


def _compile_bytecode() -> None:
    """Write the project's bytecode, as installing guichet does: where
    PYTHONDONTWRITEBYTECODE is set (this machine), each start would otherwise compile
    every module of guichet from its source again."""
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=2)


def _process_s(command: list[str], repeat: int) -> tuple[float, float]:
    """Median and shortest wall time of a whole process (after one run to warm the disk cache)."""
    subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def startup(repeat: int) -> None:
    _compile_bytecode()
    guichet = str(Path(sys.executable).with_name("guichet"))
    docx = str(SAMPLES / "dossiers" / "p001.docx")
    mail = str(SAMPLES / "emails" / "pe001.eml")
    floor, _ = _process_s([sys.executable, "-c", "pass"], repeat)
    print(f"== start-up: whole processes, median of {repeat} runs (project bytecode compiled first)")
    print(f"{'command':40} {'s':>7} {'min s':>7} {'floor s':>8} {'ratio':>6}")
    for label, command in (
        ("guichet parse p001.docx", [guichet, "parse", docx]),
        ("guichet check pe001.eml", [guichet, "check", mail]),
    ):
        seconds, shortest = _process_s(command, repeat)
        print(f"{label:40} {seconds:7.3f} {shortest:7.3f} {floor:8.3f} {seconds / floor:6.1f}")
    print("floor = python -c pass (the same interpreter, its site packages).")


def _files(suffix: str) -> list[Path]:
    found = sorted((SAMPLES / "dossiers").glob(f"*{suffix}"))
    found += sorted((FIXTURES / "dossiers").glob(f"*{suffix}"))[:10]
    return found


def run(repeat: int = 15) -> None:
    from parsers.dossier import parse_dossier
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

    pdf_repeat = max(5, repeat // 2)
    rows = []
    for path in _files(".pdf")[:8]:
        data = path.read_bytes()
        in_process = _median_ms(lambda: read_pdf(data, isolated=False), pdf_repeat)
        isolated = _median_ms(lambda: parse_dossier(data, path.name, "blossom-2026"), pdf_repeat)
        bare = _median_ms(lambda: _bare_pdf(data), pdf_repeat)
        pages = read_pdf(data, isolated=False).pages
        rows.append((path.name, pages, in_process, isolated, bare, _peak_mib(path)))
    print(f"{'pdf':28} {'pages':>5} {'read ms':>8} {'parse ms':>9} {'bare ms':>8} {'ratio':>6} {'peak MiB':>9}")
    for name, pages, read, isolated, bare, peak in rows:
        print(f"{name:28} {pages:5} {read:8.1f} {isolated:9.1f} {bare:8.1f} {read / bare:6.2f} {peak:9.1f}")
    if rows:
        print(f"{'median':28} {'':5} {statistics.median(r[2] for r in rows):8.1f} "
              f"{statistics.median(r[3] for r in rows):9.1f} {statistics.median(r[4] for r in rows):8.1f} "
              f"{statistics.median(r[2] / r[4] for r in rows):6.2f}")
    print("read = PDF reader in this process; parse = whole parse_dossier (PDF read in the warm")
    print("capped child); bare = pypdfium2's text of every page; ratio = read / bare.")
    print("docx: parse = whole parse_dossier; bare = python-docx opening and iterating it.")
    startup(max(15, repeat))
