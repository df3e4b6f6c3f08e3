"""outbox delivery steps, check lease

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:17:17.455769

The outbox records each step of a delivery (SMTP hand-over, Sent copy) and the mailbox
a mail goes out from; a message being checked carries a lease (two workers, one check).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import triage.models  # the store's own column types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", triage.models.UTCDateTime(), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailbox_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("uncertain", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("sending_at", triage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("copied_at", triage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("copy_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("copy_attempts")
        batch_op.drop_column("copied_at")
        batch_op.drop_column("sending_at")
        batch_op.drop_column("uncertain")
        batch_op.drop_column("mailbox_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
