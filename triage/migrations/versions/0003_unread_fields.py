"""unread fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:12:41.208317

A field the applicant wrote in but whose answer could not be read (a score « 12/10 »)
is not missing: the parsed dossier, the verdicts and the applications keep such keys in
``unread`` beside ``missing``, and the parsed dossier keeps the text found
(``unread_raw``) for coordinators. Rows filed before have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite adds a NOT NULL column with a constant default
    # in place, whereas a batch would copy and drop each table, and dropping ``applications``
    # with foreign keys on would delete its verdicts (ON DELETE CASCADE).
    op.add_column("parsed_fields", sa.Column("unread", JSON, nullable=False, server_default="[]"))
    op.add_column(
        "parsed_fields", sa.Column("unread_raw", JSON, nullable=False, server_default="{}")
    )
    op.add_column("applications", sa.Column("unread", JSON, nullable=False, server_default="[]"))
    op.add_column("verdicts", sa.Column("unread", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place too.
    op.drop_column("verdicts", "unread")
    op.drop_column("applications", "unread")
    op.drop_column("parsed_fields", "unread_raw")
    op.drop_column("parsed_fields", "unread")
