"""indexes that bound pruning: finished jobs by finished_at, task keys by delivery

The jobs pass of ``bridge prune`` looks for jobs finished before the retention's cutoff; with
no index on ``finished_at`` it walked every done job (through ``ix_jobs_state_run_at``) to
test it, under SQLite's write lock.  ``ix_jobs_finished`` holds finished jobs only
(``finished_at`` is set when a job ends done or dead, and cleared when a run is retried), by
state and time, so the pass reads just the jobs it deletes.  The events pass deletes the
``update_open`` keys whose open task a pruned event made, found by ``delivery_id``:
``ix_task_keys_delivery`` spares it a scan of ``task_keys`` in every batch.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FINISHED = "finished_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_jobs_finished",
        "jobs",
        ["state", "finished_at"],
        postgresql_where=sa.text(FINISHED),
        sqlite_where=sa.text(FINISHED),
    )
    op.create_index("ix_task_keys_delivery", "task_keys", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_task_keys_delivery", table_name="task_keys")
    op.drop_index("ix_jobs_finished", table_name="jobs")
