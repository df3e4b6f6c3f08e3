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
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from config.programme import FieldSpec, FormSpec
from parsers.blocks import Block, DocumentText
from parsers.labels import Folded, LabelEntry, LabelIndex, fold, key_of

STOP_CUTOFF = 88.0
STRONG_LABEL = 95.0  # an unchosen reading this good still ends the previous answer
MAX_LABEL_LINES = 6
LEADING_SEPARATORS = re.compile(r"^[\s:?=\u00a0\u202f]*(?:[–—-]\s+)?")  # "Label : – answer", "Label = answer"
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
    block: int | None = None  # the reading-order block where the label's answer starts


@dataclass(frozen=True, slots=True)
class LabelPlace:
    """Where a field's label was read: its first block, the block where its answer
    begins, and the offset of that beginning in the block's text."""

    start: int
    end: int
    split: int


@dataclass
class FillResult:
    answers: dict[str, RawAnswer]
    labels_found: int
    labels_total: int
    places: dict[str, LabelPlace] = field(default_factory=dict)  # indices into ``blocks``
    blocks: list[Block] = field(default_factory=list)  # the blocks read (``reading_blocks``)
    texts: list[str] = field(default_factory=list)  # their texts (``reading_texts``)

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
                    # « Fait à Ixelles »: only the form's own label; a variant (« Date ») needs
                    # a separator, or « Date limite : 14 septembre » would be a signature date
                    inline_free=self.fields[lab.field_index].inline_without_separator and lab.key == lab.group,
                    trailing_value=self.fields[lab.field_index].type == "score",
                )
                for lab in self.labels
            ],
            trailing=SCORE_AT_END,
        )
        self.stop_keys = [key_of(s) for s in form.stops]
        self.ignore = [re.compile(p, re.IGNORECASE) for p in form.ignore_patterns]

    # -- finding labels -------------------------------------------------------

    def reading_blocks(self, doc: DocumentText) -> list[Block]:
        """The blocks a form is read from: body and text boxes, tables a PDF page break
        cut in two joined again."""
        blocks = [b for b in doc.blocks if b.source in ("body", "textbox")]
        if doc.format == "pdf":
            blocks = self._join_continued_tables(blocks)
        return blocks

    def reading_texts(self, blocks: list[Block]) -> list[str]:
        """The blocks' texts without the instructions the form says to ignore."""
        return [self._without_instructions(b.text) for b in blocks]

    def fill(self, doc: DocumentText) -> FillResult:
        blocks = self.reading_blocks(doc)
        texts = self.reading_texts(blocks)
        folded = [fold(t) for t in texts]
        readings = self._readings(blocks, texts, folded)
        chain = self._chain(readings)
        # a line starting in lower case continues a sentence, even if it reads like a heading
        stops = {i for i, f in enumerate(folded) if not texts[i].lstrip()[:1].islower() and self._is_stop(f.key)}
        boundaries = set(stops)
        for r in readings:
            if r in chain or (r.score >= STRONG_LABEL and len(r.label.key) >= 15):
                boundaries.update(j for j in range(r.start, r.end + 1)
                                  if not blocks[r.start].in_table or blocks[j].same_cell(blocks[r.start]))
        assigned = self._assign(chain)
        layout = _Layout(blocks)
        answers: dict[str, RawAnswer] = {}
        for index, spec in enumerate(self.fields):
            reading = assigned.get(index)
            if reading is None:
                answers[spec.key] = RawAnswer(None, found=False)
            else:
                answers[spec.key] = self._answer(spec, reading, blocks, texts, boundaries, layout,
                                                 flowing=doc.format == "pdf")
                answers[spec.key].block = reading.end
        places = {self.fields[i].key: LabelPlace(r.start, r.end, r.split) for i, r in assigned.items()}
        return FillResult(answers, len(assigned), len(self.fields), places, blocks, texts)

    def _join_continued_tables(self, blocks: list[Block]) -> list[Block]:
        """A table a PDF page break cut in two is one table again; a row cut in two
        (its first cell on the new page starts no label) is one row again."""
        joined: list[Block] = []
        renumber: dict[int, tuple[int, int]] = {}  # table -> (table it continues, row offset)
        previous: Block | None = None  # the block before, as the reader numbered it
        for original in blocks:
            block = original
            table = block.table
            if (table is not None and table not in renumber and previous is not None
                    and previous.table is not None and previous.table != table):
                into, offset = renumber.get(previous.table, (previous.table, 0))
                last_row = offset + previous.row
                if self._columns(blocks, table) == self._columns(blocks, previous.table):
                    first_cell = " ".join(b.text for b in blocks if b.table == table and b.row == 0 and b.col == 0)
                    split_row = not first_cell.strip() or first_cell.lstrip()[:1].islower() or not self._starts_label(first_cell)
                    renumber[table] = (into, last_row if split_row else last_row + 1)
            if table is not None and table in renumber:
                into, offset = renumber[table]
                block = Block(block.text, into, block.row + offset, block.col, block.tag, block.source)
            joined.append(block)
            previous = original
        return joined

    @staticmethod
    def _columns(blocks: list[Block], table: int) -> set[int]:
        return {b.col for b in blocks if b.table == table}

    def _starts_label(self, text: str) -> bool:
        folded = fold(text)
        return bool(folded.key) and (bool(self.index.hits(text, folded)) or self._is_stop(folded.key))

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
            # a label wrapped by a PDF, or a longer variant of the one found
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
        lines = [i]
        best: _Reading | None = None
        for j in self._following_lines(blocks, i):
            offsets.append(len("\n".join(parts)) + 1)
            parts.append(texts[j])
            lines.append(j)
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
            if split > len(texts[lines[k]]) and k + 1 < len(lines):  # the split fell on the line break after it
                k, split = k + 1, 0
            best = _Reading(self.labels[label_id], i, lines[k], split, hit.score)
        return best

    @staticmethod
    def _following_lines(blocks: list[Block], i: int) -> list[int]:
        """Lines that may continue block i's text: the next ones in the same flow or cell."""
        found = []
        for j in range(i + 1, len(blocks)):
            if len(found) == MAX_LABEL_LINES - 1:
                break
            if blocks[i].in_table:
                if blocks[i].same_cell(blocks[j]):
                    found.append(j)
                elif j - i > 60:
                    break
            elif blocks[j].in_table:
                break
            else:
                found.append(j)
        return found

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
                boundaries: set[int], layout: _Layout,
                *, flowing: bool) -> RawAnswer:
        block = blocks[r.end]
        inline = LEADING_SEPARATORS.sub("", texts[r.end][r.split:]).strip()
        if block.in_table:
            return self._cell_answer(spec, r, inline, blocks, texts, boundaries, layout, flowing)
        lines = [inline] if inline else []
        where = "inline" if inline else "nextline"
        for j in range(r.end + 1, len(blocks)):
            if j in boundaries:
                break
            if blocks[j].in_table and layout.row_has_boundary(blocks[j], boundaries):
                break
            if has_content(texts[j]):
                lines.append(texts[j].strip())
        return raw_answer(lines, where)

    @staticmethod
    def _flow_after(last: int, blocks: list[Block], texts: list[str], boundaries: set[int]) -> list[str]:
        """PDF: the end of a table's last cell that a page break left outside any table."""
        lines = []
        for j in range(last + 1, len(blocks)):
            if j in boundaries or blocks[j].in_table:
                break
            if has_content(texts[j]):
                lines.append(texts[j].strip())
        return lines

    def _cell_answer(self, spec: FieldSpec, r: _Reading, inline: str, blocks: list[Block], texts: list[str],
                     boundaries: set[int], layout: _Layout, flowing: bool) -> RawAnswer:
        block = blocks[r.end]
        lines = [inline] if inline else []
        for j in layout.cell_after(block, r.end):
            if j in boundaries:
                break
            if has_content(texts[j]):
                lines.append(texts[j].strip())
        if lines:
            return raw_answer(lines, "cell-inline")
        if spec.type == "score":
            grid = layout.grid_mark(block, texts)
            if grid is not None:
                return RawAnswer(grid[1], True, "grid", grid_value=grid[0], lines=[grid[1]])
        for where, cell in (("cell-right", layout.right_of(block)), ("cell-below", layout.below(block))):
            if cell is None:
                continue
            if any(j in boundaries for j in cell):
                continue
            cell_lines = [texts[j].strip() for j in cell if has_content(texts[j])]
            if flowing and layout.is_last_row(blocks[cell[0]]):
                cell_lines += self._flow_after(max(cell), blocks, texts, boundaries)
            return raw_answer(cell_lines, where)
        return raw_answer([], "cell-empty")


PRIVATE_BULLETS = "\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf0a8\uf06c\uf06e"  # symbol-font list bullets in PDFs


def raw_answer(lines: list[str], where: str) -> RawAnswer:
    joined: list[str] = []
    for line in lines:
        line = line.lstrip(PRIVATE_BULLETS).strip()
        if not joined and where in ("cell-right", "cell-below"):
            line = line.lstrip(": \u00a0\u202f")  # « : answer » in the cell right of its label
        if not line:
            continue
        if joined and _hyphen_wrapped(joined[-1], line):
            joined[-1] += line  # "demi-" + "journée": a line broken after a hyphen
        else:
            joined.append(line)
    return RawAnswer("\n".join(joined) if joined else "", True, where, lines=joined)


def _hyphen_wrapped(previous: str, line: str) -> bool:
    """A line ending in a hyphen glued to a word, and the next starting with a letter: a
    PDF wrapped « demi-journée » or « SAW-B » at its hyphen."""
    return previous.endswith("-") and len(previous) > 1 and previous[-2].isalpha() and line[:1].isalpha()


def has_content(text: str) -> bool:
    """Letters, digits or symbols (a lone "€." counts; a lone "?" left by wrapping does not)."""
    return any(c.isalnum() or unicodedata.category(c) in ("Sc", "So", "Sm") for c in text)


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

    def is_last_row(self, b: Block) -> bool:
        return not any(t == b.table and r > b.row for t, r in self.rows)

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
