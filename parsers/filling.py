"""Filling a programme's form from text blocks: find the labels, take the answers.

One step for every format. Labels are looked for in every block (and in a few
following lines, for labels a PDF wrapped); the readings that keep the form's order
are kept (a weighted longest chain, so a stray "Adresse :" inside an answer does not
win over the real one); then each answer is taken inline after its label, in the rest
of its table cell, in the next cell to the right or below, or in the blocks up to the
next label or form heading.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from config.programme import FieldSpec, FormSpec
from parsers.blocks import Block, DocumentText
from parsers.labels import Folded, LabelEntry, LabelIndex, fold, key_of

STOP_CUTOFF = 88.0
STRONG_LABEL = 95.0  # an unchosen reading this good still ends the previous answer
MAX_LABEL_LINES = 6
LEADING_SEPARATORS = re.compile(r"^[\s:?\u00a0\u202f]*(?:[–—-]\s+)?")  # "Label : – answer"
SCORE_AT_END = re.compile(r"(?:[\s:–—-]+|^)(\d{1,2}(?:[.,]\d+)?)\s*(?:/\s*10|sur\s+10)?\s*[.)]?\s*$")
MARKS = {"x", "☒", "☑", "✓", "✔", "■", "●", "⊠", "✗", "✘", "v"}
EMPTY_BOXES = {"☐", "□", "❑", "❒"}


@dataclass(frozen=True, slots=True)
class _Label:
    field_index: int
    key: str
    group: str  # the printed label's key: fields sharing it are told apart by order
    order: int  # position in the form; fields of an any-order section share one


@dataclass(frozen=True, slots=True)
class _Reading:
    label: _Label
    start: int  # first block of the label
    end: int  # block where the answer begins (or the label's last block)
    split: int  # offset in blocks[end].text where the answer begins
    score: float


@dataclass
class RawAnswer:
    """What the document holds for one field, before normalisation."""

    text: str | None  # None: the label was not found
    found: bool
    where: str = ""
    grid_value: str | None = None  # the header of the marked column, for score grids
    lines: list[str] = field(default_factory=list)  # the answer's paragraphs


@dataclass
class FillResult:
    answers: dict[str, RawAnswer]
    labels_found: int
    labels_total: int

    @property
    def coverage(self) -> float:
        return self.labels_found / self.labels_total if self.labels_total else 0.0


class FormFiller:
    """Precomputed label keys of one form; ``fill`` is pure and reusable."""

    def __init__(self, form: FormSpec) -> None:
        self.form = form
        self.fields: list[FieldSpec] = [f for f in form.fields() if not f.derived]
        self.labels: list[_Label] = []
        position = 0
        for section in form.sections:
            section_start = position
            for spec in section.fields:
                if spec.derived:
                    continue
                index = self.fields.index(spec)
                group = key_of(spec.label or "")
                order = section_start if section.any_order else position
                for text in spec.labels:
                    self.labels.append(_Label(index, key_of(text), group, order))
                position += 1
        self.any_order_orders = {
            lab.order for lab in self.labels
            if sum(1 for other in self.labels if other.order == lab.order and other.field_index != lab.field_index)
        }
        self.index = LabelIndex(
            [
                LabelEntry(
                    lab.key,
                    inline_free=self.fields[lab.field_index].inline_without_separator,
                    trailing_value=self.fields[lab.field_index].type == "score",
                )
                for lab in self.labels
            ],
            trailing=SCORE_AT_END,
        )
        self.stop_keys = [key_of(s) for s in form.stops]
        self.ignore = [re.compile(p, re.IGNORECASE) for p in form.ignore_patterns]

    # -- finding labels -------------------------------------------------------

    def fill(self, doc: DocumentText) -> FillResult:
        blocks = [b for b in doc.blocks if b.source in ("body", "textbox")]
        texts = [self._without_instructions(b.text) for b in blocks]
        folded = [fold(t) for t in texts]
        readings = self._readings(blocks, texts, folded)
        chain = self._chain(readings)
        stops = {i for i, f in enumerate(folded) if self._is_stop(f.key)}
        boundaries = set(stops)
        for r in readings:
            if r in chain or (r.score >= STRONG_LABEL and len(r.label.key) >= 15):
                boundaries.update(range(r.start, r.end + 1))
        assigned = self._assign(chain)
        layout = _Layout(blocks)
        answers: dict[str, RawAnswer] = {}
        for index, spec in enumerate(self.fields):
            reading = assigned.get(index)
            if reading is None:
                answers[spec.key] = RawAnswer(None, found=False)
            else:
                answers[spec.key] = self._answer(spec, reading, blocks, texts, folded, boundaries, layout)
        return FillResult(answers, len(assigned), len(self.fields))

    def _without_instructions(self, text: str) -> str:
        for pattern in self.ignore:
            text = pattern.sub("", text)
        return text

    def _is_stop(self, key: str) -> bool:
        return bool(key) and process.extractOne(key, self.stop_keys, scorer=fuzz.ratio, score_cutoff=STOP_CUTOFF) is not None

    def _readings(self, blocks: list[Block], texts: list[str], folded: list[Folded]) -> list[_Reading]:
        found: list[_Reading] = []
        for i, f in enumerate(folded):
            if not f.key:
                continue
            hits = self.index.hits(texts[i], f)
            readings = [_Reading(self.labels[h.label], i, i, h.split, h.score) for h in hits.values()]
            if not blocks[i].in_table:  # a label a PDF wrapped, or a longer variant of one found
                for label_id in self.index.wrapped_starts(f.key):
                    reading = self._wrapped(label_id, i, blocks, texts)
                    if reading is not None:
                        readings.append(reading)
            best_per_field: dict[int, _Reading] = {}
            for reading in readings:
                current = best_per_field.get(reading.label.field_index)
                # equal scores: the variant that reads further ("Tél." < "Tél. professionnel :")
                if current is None or (reading.score, reading.end, reading.split) > (current.score, current.end, current.split):
                    best_per_field[reading.label.field_index] = reading
            found.extend(self._plausible(best_per_field.values(), texts))
        return found

    def _plausible(self, readings, texts: list[str]) -> list[_Reading]:
        """Labels written without a colon must be followed by a value of their type."""
        kept = []
        for r in readings:
            spec = self.fields[r.label.field_index]
            inline = texts[r.end][r.split:].strip()
            if spec.inline_without_separator and spec.type == "date" and inline:
                if not re.search(r"\d", inline) and not _has_month(inline):
                    continue
            kept.append(r)
        return kept

    def _wrapped(self, label_id: int, i: int, blocks: list[Block], texts: list[str]) -> _Reading | None:
        """A label spread over several lines (PDF wrapping, or Enter pressed inside it)."""
        parts = [texts[i]]
        offsets = [0]
        best: _Reading | None = None
        for j in range(i + 1, min(i + MAX_LABEL_LINES, len(blocks))):
            if blocks[j].in_table != blocks[i].in_table or (blocks[i].in_table and not blocks[i].same_cell(blocks[j])):
                break
            offsets.append(len("\n".join(parts)) + 1)
            parts.append(texts[j])
            window = "\n".join(parts)
            hit = self.index.hits(window, fold(window)).get(label_id)
            if hit is None:
                if best is not None:
                    break
                continue
            if best is not None and hit.score <= best.score:
                break  # the label ended on the previous line
            k = max(n for n, off in enumerate(offsets) if off <= hit.split)
            split = hit.split - offsets[k]
            if split > len(texts[i + k]):  # the split fell on the line break after it
                k, split = k + 1, 0
            best = _Reading(self.labels[label_id], i, i + k, split, hit.score)
        return best

    # -- keeping the readings that respect the form's order ---------------------

    def _chain(self, readings: list[_Reading]) -> set[_Reading]:
        items = sorted(readings, key=lambda r: (r.start, r.end, -r.score))
        n = len(items)
        best = [0.0] * n
        back = [-1] * n
        for i, r in enumerate(items):
            weight = 1.0 + r.score / 100.0
            best[i] = weight
            for j in range(i):
                q = items[j]
                if q.end >= r.start or not self._may_follow(q, r):
                    continue
                if best[j] + weight > best[i]:
                    best[i] = best[j] + weight
                    back[i] = j
        chain: set[_Reading] = set()
        if n:
            i = max(range(n), key=lambda k: best[k])
            while i >= 0:
                chain.add(items[i])
                i = back[i]
        return chain

    def _may_follow(self, first: _Reading, then: _Reading) -> bool:
        a, b = first.label, then.label
        if a.order < b.order:
            return True
        return a.order == b.order and a.order in self.any_order_orders

    def _assign(self, chain: set[_Reading]) -> dict[int, _Reading]:
        """Chosen readings per field; repeated labels go to their fields in reading order."""
        assigned: dict[int, _Reading] = {}
        by_group: dict[tuple[int, str], list[_Reading]] = defaultdict(list)
        for r in sorted(chain, key=lambda r: r.start):
            if r.label.order in self.any_order_orders:
                by_group[(r.label.order, r.label.group)].append(r)
            else:
                assigned[r.label.field_index] = r
        for (order, group), readings in by_group.items():
            fields = sorted({lab.field_index for lab in self.labels if lab.order == order and lab.group == group})
            for field_index, reading in zip(fields, readings):
                assigned[field_index] = reading
        return assigned

    # -- taking the answers -------------------------------------------------------

    def _answer(self, spec: FieldSpec, r: _Reading, blocks: list[Block], texts: list[str],
                folded: list[Folded], boundaries: set[int], layout: _Layout) -> RawAnswer:
        block = blocks[r.end]
        inline = LEADING_SEPARATORS.sub("", texts[r.end][r.split:]).strip()
        if block.in_table:
            return self._cell_answer(spec, r, inline, blocks, texts, folded, boundaries, layout)
        lines = [inline] if inline else []
        where = "inline" if inline else "nextline"
        for j in range(r.end + 1, len(blocks)):
            if j in boundaries:
                break
            if blocks[j].in_table and layout.row_has_boundary(blocks[j], boundaries):
                break
            if folded[j].key:
                lines.append(texts[j].strip())
        return _raw(lines, where)

    def _cell_answer(self, spec: FieldSpec, r: _Reading, inline: str, blocks: list[Block], texts: list[str],
                     folded: list[Folded], boundaries: set[int], layout: _Layout) -> RawAnswer:
        block = blocks[r.end]
        lines = [inline] if inline else []
        for j in layout.cell_after(block, r.end):
            if j in boundaries:
                break
            if folded[j].key:
                lines.append(texts[j].strip())
        if lines:
            return _raw(lines, "cell-inline")
        if spec.type == "score":
            grid = layout.grid_mark(block, texts)
            if grid is not None:
                return RawAnswer(grid[1], True, "grid", grid_value=grid[0], lines=[grid[1]])
        for where, cell in (("cell-right", layout.right_of(block)), ("cell-below", layout.below(block))):
            if cell is None:
                continue
            if any(j in boundaries for j in cell):
                continue
            cell_lines = [texts[j].strip() for j in cell if folded[j].key]
            return _raw(cell_lines, where)
        return _raw([], "cell-empty")


def _raw(lines: list[str], where: str) -> RawAnswer:
    lines = [line for line in lines if line]
    return RawAnswer("\n".join(lines) if lines else "", True, where, lines=lines)


def _has_month(text: str) -> bool:
    return bool(re.search(r"janv|f[ée]v|mars|avr|mai|juin|juil|ao[uû]|sept|oct|nov|d[ée]c", text, re.IGNORECASE))


class _Layout:
    """Table coordinates of the blocks: cells, their neighbours, grid headers."""

    def __init__(self, blocks: list[Block]) -> None:
        self.cells: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        self.rows: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, b in enumerate(blocks):
            if b.in_table:
                coord = (b.table, b.row, b.col)
                if coord not in self.cells:
                    self.rows[(b.table, b.row)].append(b.col)
                self.cells[coord].append(i)

    def cell(self, b: Block) -> list[int]:
        return self.cells.get((b.table, b.row, b.col), [])

    def cell_after(self, b: Block, index: int) -> list[int]:
        return [j for j in self.cell(b) if j > index]

    def right_of(self, b: Block) -> list[int] | None:
        cols = sorted(c for c in self.rows.get((b.table, b.row), []) if c > b.col)
        return self.cells[(b.table, b.row, cols[0])] if cols else None

    def below(self, b: Block) -> list[int] | None:
        coord = (b.table, b.row + 1, b.col)
        return self.cells.get(coord)

    def row_has_boundary(self, b: Block, boundaries: set[int]) -> bool:
        return any(j in boundaries for c in self.rows.get((b.table, b.row), []) for j in self.cells[(b.table, b.row, c)])

    def grid_mark(self, b: Block, texts: list[str]) -> tuple[str, str] | None:
        """(column header, mark) of the one marked cell in a 1-to-10 grid row."""
        cols = [c for c in sorted(self.rows.get((b.table, b.row), [])) if c != b.col]
        if len(cols) < 5:
            return None
        marked = []
        for c in cols:
            content = " ".join(texts[j] for j in self.cells[(b.table, b.row, c)]).strip()
            if content and (content.lower() in MARKS or content[0] in MARKS or content.isdigit()):
                if content in EMPTY_BOXES:
                    continue
                marked.append((c, content))
        if len(marked) != 1:
            return ("", "") if len(marked) > 1 else None
        col, content = marked[0]
        if content.isdigit():
            return (content, content)
        for row in range(b.row - 1, -1, -1):
            header = " ".join(texts[j] for j in self.cells.get((b.table, row, col), [])).strip()
            if header.isdigit():
                return (header, content)
        return None
