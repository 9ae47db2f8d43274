"""circuit_periods: when each worker's iVvy circuit breaker was open; indexes for history

The status pages mark these periods on the queue's history.  They cannot be
derived from other rows (a worker that holds back writes nothing else), so each
worker records its breaker opening and closing here.  The pictures also count
tasks by their delivery's updated_at and failed calls by started_at: indexed, so
the overview reads a day or a week of rows, not the tables.

Numbered 0004 and based on 0002: if a 0003 lands first, point down_revision at it.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bridge.store.types import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "circuit_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circuit_periods")),
    )
    op.create_index("ix_circuit_periods_opened", "circuit_periods", ["opened_at"])
    op.create_index("ix_deliveries_updated", "deliveries", ["updated_at"])
    op.create_index("ix_attempts_started", "attempts", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_attempts_started", table_name="attempts")
    op.drop_index("ix_deliveries_updated", table_name="deliveries")
    op.drop_index("ix_circuit_periods_opened", table_name="circuit_periods")
    op.drop_table("circuit_periods")
