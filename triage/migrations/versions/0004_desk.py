"""the coordinators' desk (issue #13)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 20:10:00

Corrections of what was read (``corrections``), coordinators' accounts (``desk_users``),
a status given by a coordinator with its reason (« retiré » among them) on
``applications``, and who recorded a decision. The worker's health (issue #12) follows
as 0005.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE TABLE (see 0003: no batch copy of ``applications``).
    op.add_column("applications", sa.Column("status_override", sa.String(32), nullable=True))
    op.add_column("applications", sa.Column("override_reason", sa.Text(), nullable=True))
    op.add_column("applications", sa.Column("override_by", sa.String(320), nullable=True))
    op.add_column("applications", sa.Column("override_at", sa.DateTime(), nullable=True))
    op.add_column("decisions", sa.Column("decided_by", sa.String(320), nullable=True))
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_corrections_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_corrections_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(
        op.f("ix_corrections_application_id"), "corrections", ["application_id"], unique=False
    )
    op.create_index(op.f("ix_corrections_message_id"), "corrections", ["message_id"], unique=False)
    op.create_table(
        "desk_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("session_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_desk_users_email")),
    )


def downgrade() -> None:
    op.drop_table("desk_users")
    op.drop_index(op.f("ix_corrections_message_id"), table_name="corrections")
    op.drop_index(op.f("ix_corrections_application_id"), table_name="corrections")
    op.drop_table("corrections")
    op.drop_column("decisions", "decided_by")
    op.drop_column("applications", "override_at")
    op.drop_column("applications", "override_by")
    op.drop_column("applications", "override_reason")
    op.drop_column("applications", "status_override")
