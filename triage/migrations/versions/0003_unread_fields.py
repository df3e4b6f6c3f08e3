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
EMPTY_LIST = sa.text("'[]'")
EMPTY_OBJECT = sa.text("'{}'")


def upgrade() -> None:
    with op.batch_alter_table("parsed_fields", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unread", JSON, nullable=False, server_default=EMPTY_LIST))
        batch_op.add_column(
            sa.Column("unread_raw", JSON, nullable=False, server_default=EMPTY_OBJECT)
        )

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unread", JSON, nullable=False, server_default=EMPTY_LIST))

    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unread", JSON, nullable=False, server_default=EMPTY_LIST))


def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_column("unread")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("unread")

    with op.batch_alter_table("parsed_fields", schema=None) as batch_op:
        batch_op.drop_column("unread_raw")
        batch_op.drop_column("unread")
