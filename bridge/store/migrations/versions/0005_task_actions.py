"""task keys and actions: the memory that lets later events complete, cancel or update a task

deliveries gains the task's key (``task.key`` rendered), the status the bridge last knew it
in, and, for an event that updated its key's open task instead of creating one, the delivery
whose task that is.  task_actions holds one row per (event, rule, task) an action touched, the
unit of "applied once".  task_keys holds one row per (rule, key) of an ``update_open`` rule:
the delivery whose task is the key's open one, locked while two events decide which of them
creates it.  task_locked_by/until on deliveries: while one run reads a task, computes its new
description and sends it, no other run changes that task (a lock with an expiry, not a
transaction held open across HTTP calls).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bridge.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("task_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("task_status", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("open_task_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("task_locked_by", sa.String(length=160), nullable=True))
        batch.add_column(sa.Column("task_locked_until", UTCDateTime(), nullable=True))
    op.create_index("ix_deliveries_rule_task_key", "deliveries", ["rule", "task_key"])
    op.create_index("ix_deliveries_owner_id", "deliveries", ["owner_id"])
    op.create_table(
        "task_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("status_before", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_task_actions_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_actions")),
        sa.UniqueConstraint(
            "event_id", "rule", "task_id", name=op.f("uq_task_actions_event_id_rule_task_id")
        ),
    )
    op.create_index("ix_task_actions_delivery", "task_actions", ["delivery_id"])
    op.create_table(
        "task_keys",
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule", "key", name=op.f("pk_task_keys")),
    )


def downgrade() -> None:
    op.drop_table("task_keys")
    op.drop_index("ix_task_actions_delivery", table_name="task_actions")
    op.drop_table("task_actions")
    op.drop_index("ix_deliveries_owner_id", table_name="deliveries")
    op.drop_index("ix_deliveries_rule_task_key", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("task_locked_until")
        batch.drop_column("task_locked_by")
        batch.drop_column("open_task_of")
        batch.drop_column("task_status")
        batch.drop_column("task_key")
