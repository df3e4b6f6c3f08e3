"""The common shape every document reader produces: text blocks in reading order.

A *block* is one paragraph (Word) or one line (PDF) of text, or one paragraph of a
table cell. Blocks of the same table cell share ``(table, row, col)``. The form
filler (``parsers.filling``) works on these alone, so a .docx and its PDF export go
through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph or line of text, with where it sits."""

    text: str
    table: int | None = None  # index of the table in the document, None outside tables
    row: int | None = None
    col: int | None = None
    tag: str | None = None  # content-control tag or alias, when the text came from one
    source: str = "body"  # "body", "textbox", "header", "footer"

    @property
    def in_table(self) -> bool:
        return self.table is not None

    def same_cell(self, other: Block) -> bool:
        return (
            self.table is not None
            and (self.table, self.row, self.col) == (other.table, other.row, other.col)
        )


@dataclass(slots=True)
class DocumentText:
    """What a reader found in a file: blocks plus facts about the file."""

    format: Literal["docx", "pdf"]
    blocks: list[Block]
    tracked_changes: bool = False  # insertions or deletions not yet accepted (docx)
    pages: int | None = None  # PDF page count
    notes: list[str] = field(default_factory=list)  # French, for the warnings list

    def full_text(self) -> str:
        return "\n".join(b.text for b in self.blocks)
