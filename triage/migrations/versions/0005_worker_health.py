"""worker health (issue #12)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 20:40:00

The worker's heartbeat: one row per programme for its cycles and one per mailbox,
updated after each cycle, read by ``guichet doctor --alert``. A plain CREATE TABLE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import triage.models  # the store's own column types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("last_cycle_at", triage.models.UTCDateTime(), nullable=False),
        sa.Column("last_success_at", triage.models.UTCDateTime(), nullable=True),
        sa.Column("failing_since", triage.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("alerted_for", triage.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_health")),
        sa.UniqueConstraint(
            "programme_id", "subject", name=op.f("uq_worker_health_programme_id_subject")
        ),
    )


def downgrade() -> None:
    op.drop_table("worker_health")
