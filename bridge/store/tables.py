"""The database schema: inbox, queue, deliveries and their attempt log.

The queue lives in the same database as the inbox (a transactional outbox):
accepting an event and enqueueing its job is one commit.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bridge.store.states import JobState
from bridge.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per accepted delivery.  `body` and the headers that matter are kept
# verbatim so an event can be re-parsed or replayed later.
events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("kind", String(120), nullable=False),
    Column("external_id", String(255)),
    Column("dedupe_key", String(255), nullable=False),
    Column("email", String(320)),  # lower-case, for search in the status pages
    Column("received_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # bridge.store.states.EventState: received | processing | retrying | done | no_match |
    # failed | dead | invalid
    Column("state", String(16), nullable=False),
    Column("content_type", String(255), nullable=False, default=""),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # The normalised Event without raw (Event.to_json(with_raw=False)): raw is the body as its
    # source decoded it, rebuilt when read (sources/stored.py); rows stored before hold raw.
    # Null when invalid.
    Column("event", JSON),
    Column("rules_digest", String(64)),  # the rules the event first ran with
    Column("last_error", Text),
    Index("ix_events_received", "received_at"),
    Index("ix_events_source_received", "source", "received_at"),
    Index("ix_events_state", "state"),
    Index("ix_events_email", "email"),
    Index("ix_events_external_id", "external_id"),
)

# Dedupe keys outlive the events they point at: senders retry for days, and
# the keys are kept longer than the events themselves (retention.dedupe_days).
dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_dedupe_keys_created", "created_at"),
)

# The partial index's condition, written the same way in the claim's WHERE clause
# (as literal SQL: both databases match it against the index's own text).  NOT IN,
# because SQLite would otherwise seek ix_jobs_state_run_at on the IN list and sort.
# The text must stay as migration 0002 wrote the index: the states are spelled out.
JOBS_UNFINISHED = f"state NOT IN ('{JobState.DONE}', '{JobState.DEAD}')"
# The partial indexes of ``jobs``, by name, and the predicate their migrations gave them.
PARTIAL_INDEX_WHERE = {
    "ix_jobs_due": JOBS_UNFINISHED,
    "ix_jobs_finished": "finished_at IS NOT NULL",
}

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    # bridge.store.states.JobState: ready | running | done | dead
    Column("state", String(16), nullable=False),
    Column("run_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("attempts", Integer, nullable=False, default=0),  # runs that reached an outcome
    Column("claims", Integer, nullable=False, default=0),  # times a worker took it
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime()),
    Column("last_error", Text),
    # Replays may pin the rules an event first ran with; null means current rules.
    Column("rules_digest", String(64)),
    Index("ix_jobs_state_run_at", "state", "run_at"),
    Index("ix_jobs_event", "event_id"),
    # The next two indexes are partial, on both databases: their migrations (0002, 0006)
    # create them WHERE the predicate in PARTIAL_INDEX_WHERE holds.  The predicate is not
    # declared here: its keywords (postgresql_where, sqlite_where) make SQLAlchemy load
    # that database's whole dialect to check them, and loading the PostgreSQL one cost a
    # SQLite deployment about 4.5 MiB of PSS (BENCHMARKS.md, Memory).  Nothing at run
    # time builds indexes from this table; tests/store/test_migrations.py checks that the
    # migrated ones are partial.
    # Only jobs not yet finished, in run_at order: a claim reads the first unlocked one
    # instead of scanning and sorting the whole table (a backlog made that O(jobs)).
    Index("ix_jobs_due", "run_at"),
    # Finished jobs by state and time (finished_at is set only when a job ends): pruning
    # reads the jobs past retention instead of walking every done job (migration 0006).
    Index("ix_jobs_finished", "state", "finished_at"),
)

# One row per (event, rule) that matched: the unit of "exactly one task".
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(120), nullable=False),
    # bridge.store.states.DeliveryState: pending | creating_lead | creating_task |
    # task_unsent | done | failed
    Column("state", String(16), nullable=False),
    Column(
        "marker", String(120), nullable=False
    ),  # written into the task; found again after a lost response
    Column("owner_kind", String(16)),
    Column("owner_id", Integer),
    Column("venue_id", Integer),
    Column("contact_id", Integer),  # a contact this delivery created, if any
    Column("lead_id", Integer),  # a lead this delivery created, if any
    Column("task_id", Integer),
    Column("task", JSON),  # the addOrUpdateTask body as sent (or planned)
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Task lifecycle (migration 0005): the task's rendered key, the status the bridge last
    # knew it in (iVvy's 0-4), and for an update_open event that updated its key's open
    # task instead of creating one, the id of the delivery whose task that is.
    Column("task_key", String(255)),
    Column("task_status", Integer),
    Column("open_task_of", Integer),
    # Who is changing the task now (read, then write the whole description), and until when.
    Column("task_locked_by", String(160)),
    Column("task_locked_until", UTCDateTime()),
    UniqueConstraint("event_id", "rule"),
    Index("ix_deliveries_updated", "updated_at"),  # the overview's tasks per hour
    Index("ix_deliveries_rule_task_key", "rule", "task_key"),
    Index("ix_deliveries_owner_id", "owner_id"),
)

# One row per (event, rule, task) an action (complete, cancel, update, or an update_open
# event's update) touched: the unit of "applied once".  delivery_id: the delivery that
# created the task.  body: the addOrUpdateTask body stored before it was sent.
task_actions = Table(
    "task_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(120), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("delivery_id", Integer, nullable=False),
    Column("action", String(16), nullable=False),  # complete | cancel | update
    # bridge.store.states.ActionState: pending | sending | done | skipped | failed
    Column("state", String(16), nullable=False),
    Column("body", JSON),
    Column("status_before", Integer),  # the task's status in iVvy when it was read
    Column("error", Text),  # why it failed or was skipped
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("event_id", "rule", "task_id"),
    Index("ix_task_actions_delivery", "delivery_id"),
)

# Per (rule, key) of an update_open rule: the delivery whose task is the key's open one.
# Its row is locked while an event decides whether to create the task or update it.
task_keys = Table(
    "task_keys",
    metadata,
    Column("rule", String(120), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("delivery_id", Integer),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_task_keys_delivery", "delivery_id"),  # pruning an event's task memory
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(32), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("call", String(80), nullable=False),  # e.g. crm.addOrUpdateTask
    Column("status", Integer),  # HTTP status; null when no answer came back
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text),
    Index("ix_attempts_event", "event_id"),
    Index("ix_attempts_job", "job_id"),
    Index("ix_attempts_started", "started_at"),  # the overview's failures per hour
)

# The rules text each digest stands for, so a replay can use the rules an event first ran with.
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Round-robin position per rule, for assignees that rotate.
rotations = Table(
    "rotations",
    metadata,
    Column("rule", String(120), primary_key=True),
    Column("counter", Integer, nullable=False),
)

# When each worker's iVvy circuit breaker was open (closed_at null: still open, or the
# worker died while it was).  Written by the worker; drawn on the status pages.
circuit_periods = Table(
    "circuit_periods",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("worker", String(120), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Index("ix_circuit_periods_opened", "opened_at"),
)
