"""Reading accuracy on dossiers drawn by an independent generator (tests/fixtures/mutate.py).

500 dossiers (seed 2026), about a fifth of them also exported to PDF by LibreOffice, each
filled and edited the ways real applicants do; each is parsed and compared with its truth:

- field accuracy: share of (dossier, field) values right (text compared whitespace and
  Unicode form aside); a field the reader marks unread is not right, and is counted apart;
- dossiers entirely right; confident wrong values (a value given that differs from the
  truth) by type of field; unread fields, and unread fields whose truth is null;
- wrong statuses: complete dossiers judged incomplete (parsed `missing` not empty while the
  truth's is) and incomplete dossiers judged complete;
- the same by kind of edit, and .docx beside PDF.

The corpus is cached in `.cache/accuracy/<hash of the generator, the blank form, seed, n>/`.
`python -m bench.accuracy --n N --seed S --errors FILE.json` writes every error for debugging.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import shutil
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fixtures import mutate

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "accuracy"
DEFAULT_N = 500
DEFAULT_SEED = 2026
DEFAULT_PDF_SHARE = 0.2
GUARANTEED_TYPES = ("date", "enterprise number", "number", "score")  # never a confident wrong value
TYPES = ("date", "enterprise number", "number", "score", "phone", "email", "yes/no", "choice", "text")


def corpus(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, pdf_share: float = DEFAULT_PDF_SHARE,
           cache: Path = CACHE) -> list[Path]:
    """The generated files (.docx then .pdf), built once per generator version, seed and size."""
    digest = hashlib.sha256()
    digest.update(Path(mutate.__file__).read_bytes())
    digest.update(mutate.BLANK_FORM.read_bytes())
    digest.update(f"{seed}:{n}:{pdf_share}".encode())
    folder = cache / digest.hexdigest()[:16]
    if not (folder / "complete").exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        started = time.perf_counter()
        mutate.write_corpus(partial, n, seed, pdf_share, progress=lambda m: print(f"   {m}", flush=True))
        (partial / "complete").write_text(f"{n} dossiers, seed {seed}\n")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        print(f"   corpus generated in {time.perf_counter() - started:.0f} s: {folder.relative_to(ROOT)}")
    return mutate.corpus_files(folder)


def comparable(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()
    return value


def same(expected: Any, got: Any) -> bool:
    """Whether a parsed value equals the truth as the samples' README compares them."""
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, abs_tol=1e-9)
    return comparable(expected) == comparable(got)


@dataclass
class Outcome:
    """One parsed file beside its truth."""

    path: Path
    truth: dict[str, Any]
    got: dict[str, Any]
    states: dict[str, str]
    missing: list[str]
    error: str | None = None

    @property
    def fmt(self) -> str:
        return self.path.suffix.lstrip(".")

    def right(self, key: str) -> bool:
        return self.states.get(key) != "unread" and same(self.truth["fields"][key], self.got.get(key))

    def confident_wrong(self, key: str) -> bool:
        return self.got.get(key) is not None and not same(self.truth["fields"][key], self.got.get(key))

    @property
    def wrong_keys(self) -> list[str]:
        return [k for k in mutate.KEYS if not self.right(k)]

    @property
    def complete_judged_incomplete(self) -> bool:
        return not self.truth["missing"] and bool(self.missing)

    @property
    def incomplete_judged_complete(self) -> bool:
        return bool(self.truth["missing"]) and not self.missing


def parse_one(path: Path) -> Outcome:
    from guichet.errors import UnreadableDocument
    from parsers.dossier import parse_dossier

    truth = mutate.read_truth(path)
    try:
        parsed = parse_dossier(path.read_bytes(), path.name, programme_id=mutate.PROGRAMME)
    except UnreadableDocument as exc:
        return Outcome(path, truth, {}, {}, list(mutate.REQUIRED), error=f"{type(exc).__name__}: {exc}")
    states = {key: reading.state for key, reading in parsed.readings.items()}
    return Outcome(path, truth, dict(parsed.fields), states, list(parsed.missing))


def evaluate(paths: list[Path]) -> list[Outcome]:
    return [parse_one(p) for p in paths]


@dataclass
class Tally:
    """Figures over a set of outcomes."""

    files: int = 0
    values: int = 0
    right: int = 0
    entirely_right: int = 0
    unread: int = 0
    unread_null: int = 0
    confident_wrong: Counter[str] = field(default_factory=Counter)
    complete_judged_incomplete: int = 0
    incomplete_judged_complete: int = 0
    unreadable: int = 0

    def add(self, o: Outcome) -> None:
        self.files += 1
        self.unreadable += o.error is not None
        wrong = 0
        for key in mutate.KEYS:
            self.values += 1
            if o.right(key):
                self.right += 1
            else:
                wrong += 1
            if o.states.get(key) == "unread":
                self.unread += 1
                self.unread_null += o.truth["fields"][key] is None
            if o.confident_wrong(key):
                self.confident_wrong[mutate.FIELD_TYPES[key]] += 1
        self.entirely_right += wrong == 0 and not o.complete_judged_incomplete and not o.incomplete_judged_complete
        self.complete_judged_incomplete += o.complete_judged_incomplete
        self.incomplete_judged_complete += o.incomplete_judged_complete

    @property
    def accuracy(self) -> float:
        return self.right / self.values if self.values else 0.0

    @property
    def wrong_statuses(self) -> int:
        return self.complete_judged_incomplete + self.incomplete_judged_complete


def tally(outcomes: list[Outcome]) -> Tally:
    t = Tally()
    for o in outcomes:
        t.add(o)
    return t


def errors(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Every wrong value and wrong status, for developers."""
    out: list[dict[str, Any]] = []
    for o in outcomes:
        field_edits = o.truth.get("meta", {}).get("field_edits", {})
        if o.complete_judged_incomplete or o.incomplete_judged_complete:
            out.append({"file": o.path.name, "edits": o.truth["edits"], "key": "(status)",
                        "type": "status", "truth": o.truth["missing"], "got": o.missing, "state": None, "error": o.error})
        for key in o.wrong_keys:
            out.append({
                "file": o.path.name, "edits": o.truth["edits"], "field_edits": field_edits.get(key, []),
                "key": key, "type": mutate.FIELD_TYPES[key], "truth": o.truth["fields"][key],
                "got": o.got.get(key), "state": o.states.get(key), "error": o.error,
            })
    return out


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def report(outcomes: list[Outcome], elapsed: float) -> None:
    t = tally(outcomes)
    complete = sum(not o.truth["missing"] for o in outcomes)
    print(f"files parsed           {t.files} ({sum(o.fmt == 'docx' for o in outcomes)} docx, "
          f"{sum(o.fmt == 'pdf' for o in outcomes)} pdf) in {elapsed:.0f} s; unreadable {t.unreadable}")
    print(f"field accuracy         {t.accuracy:.4f} ({t.right}/{t.values})")
    print(f"dossiers entirely right {_pct(t.entirely_right, t.files)} ({t.entirely_right}/{t.files})")
    print(f"complete judged incomplete {t.complete_judged_incomplete} of {complete} complete   <- the most important")
    print(f"incomplete judged complete {t.incomplete_judged_complete} of {t.files - complete} incomplete")
    print(f"unread fields          {t.unread} (truth null: {t.unread_null}, should be 0)")
    print("confident wrong values by type: " + ", ".join(f"{k} {t.confident_wrong[k]}" for k in TYPES)
          + f" (total {sum(t.confident_wrong.values())})")

    print("\nby format")
    print(f"{'format':8} {'files':>6} {'accuracy':>9} {'entirely':>9} {'conf.wrong':>10} {'unread':>7} {'statuses':>9}")
    for fmt in ("docx", "pdf"):
        sub = tally([o for o in outcomes if o.fmt == fmt])
        print(f"{fmt:8} {sub.files:6} {sub.accuracy:9.4f} {_pct(sub.entirely_right, sub.files):>9} "
              f"{sum(sub.confident_wrong.values()):10} {sub.unread:7} {sub.wrong_statuses:9}")

    by_edit: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        for kind in o.truth["edits"]:
            by_edit[kind].append(o)
    print("\nby kind of edit (worst first)")
    print(f"{'edit':30} {'files':>6} {'entirely':>9} {'c->inc':>7} {'inc->c':>7} {'conf.wrong':>10} {'unread':>7}")
    rows = sorted(((kind, tally(subset)) for kind, subset in by_edit.items()),
                  key=lambda row: (row[1].entirely_right / row[1].files, row[0]))
    for kind, sub in rows:
        print(f"{kind:30} {sub.files:6} {_pct(sub.entirely_right, sub.files):>9} {sub.complete_judged_incomplete:7} "
              f"{sub.incomplete_judged_complete:7} {sum(sub.confident_wrong.values()):10} {sub.unread:7}")

    wrong_by_key = Counter(e["key"] for e in errors(outcomes) if e["key"] != "(status)")
    print("\nwrong values by field: " + ", ".join(f"{k} {n}" for k, n in wrong_by_key.most_common(12)))


def measure(n: int, seed: int, pdf_share: float, errors_file: Path | None = None) -> list[Outcome]:
    print(f"== accuracy: {n} generated dossiers, seed {seed}, about {pdf_share:.0%} also as PDF")
    paths = corpus(n, seed, pdf_share)
    started = time.perf_counter()
    outcomes = evaluate(paths)
    report(outcomes, time.perf_counter() - started)
    if errors_file:
        found = errors(outcomes)
        errors_file.write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\n{len(found)} errors written to {errors_file}")
    return outcomes


def run(repeat: int = 1) -> None:
    """`python -m bench accuracy`; `repeat` is not used (accuracy does not vary between runs)."""
    measure(DEFAULT_N, DEFAULT_SEED, DEFAULT_PDF_SHARE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="dossiers to generate")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--pdf-share", type=float, default=DEFAULT_PDF_SHARE, help="share also exported to PDF")
    parser.add_argument("--errors", type=Path, metavar="FILE.json", help="write every error there")
    args = parser.parse_args(argv)
    measure(args.n, args.seed, args.pdf_share, args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
