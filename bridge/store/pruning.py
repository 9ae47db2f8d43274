"""Pruning: old events, finished jobs, dedupe keys and circuit periods, in short batches.

Each batch is its own transaction, so a big prune never holds SQLite's write
lock (or PostgreSQL row locks) for long and the inbox keeps accepting.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from bridge.config.sections import RetentionSettings
from bridge.store.history import SPANS
from bridge.store.states import ACTIVE_JOB_STATES, FINISHED_JOB_STATES
from bridge.store.tables import (
    attempts,
    circuit_periods,
    dedupe_keys,
    deliveries,
    events,
    jobs,
    task_actions,
    task_keys,
)

BATCH_SIZE = 500
TABLES = ("events", "deliveries", "jobs", "attempts", "dedupe_keys", "circuit_periods")
# The overview's longest picture, whose circuit marks must survive any retention.
CHART_DAYS = max(SPANS.values()) // 24


def _old_events(cutoff: datetime) -> ColumnElement[bool]:
    """Events received before ``cutoff`` with no job waiting or running."""
    active = select(jobs.c.id).where(
        jobs.c.event_id == events.c.id, jobs.c.state.in_(ACTIVE_JOB_STATES)
    )
    return (events.c.received_at < cutoff) & ~active.exists()


def _old_jobs(cutoff: datetime) -> ColumnElement[bool]:
    return jobs.c.state.in_(FINISHED_JOB_STATES) & (jobs.c.finished_at < cutoff)


def _old_keys(cutoff: datetime, doomed_events: Select[Any] | None = None) -> ColumnElement[bool]:
    """Keys created before ``cutoff`` whose event is gone (or about to go, for a dry run)."""
    stored = select(events.c.id).where(events.c.id == dedupe_keys.c.event_id)
    gone = ~stored.exists()
    if doomed_events is not None:
        gone = gone | dedupe_keys.c.event_id.in_(doomed_events)
    return (dedupe_keys.c.created_at < cutoff) & gone


def _old_periods(cutoff: datetime) -> ColumnElement[bool]:
    """Circuit periods that ended before ``cutoff`` (an open one is drawn up to now)."""
    return circuit_periods.c.closed_at.is_not(None) & (circuit_periods.c.closed_at < cutoff)


def _count(conn: Connection, table: Table, condition: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one())


def _dry_run(
    engine: Engine,
    events_cutoff: datetime,
    jobs_cutoff: datetime,
    dedupe_cutoff: datetime,
    circuit_cutoff: datetime,
) -> dict[str, int]:
    doomed_events = select(events.c.id).where(_old_events(events_cutoff))
    doomed_jobs = select(jobs.c.id).where(
        or_(_old_jobs(jobs_cutoff), jobs.c.event_id.in_(doomed_events))
    )
    with engine.connect() as conn:
        return {
            "events": _count(conn, events, _old_events(events_cutoff)),
            "deliveries": _count(conn, deliveries, deliveries.c.event_id.in_(doomed_events)),
            "jobs": _count(conn, jobs, jobs.c.id.in_(doomed_jobs)),
            "attempts": _count(
                conn,
                attempts,
                or_(attempts.c.job_id.in_(doomed_jobs), attempts.c.event_id.in_(doomed_events)),
            ),
            "dedupe_keys": _count(conn, dedupe_keys, _old_keys(dedupe_cutoff, doomed_events)),
            "circuit_periods": _count(conn, circuit_periods, _old_periods(circuit_cutoff)),
        }


def _prune_events_batch(
    engine: Engine, cutoff: datetime, batch_size: int, counts: dict[str, int]
) -> int:
    with engine.connect() as conn:
        candidates = list(
            conn.scalars(select(events.c.id).where(_old_events(cutoff)).limit(batch_size))
        )
    if not candidates:
        return 0
    with engine.begin() as conn:
        # Lock the rows first, then look for jobs in a fresh statement: a replay
        # holds the event's row lock while it queues a job, so it either finished
        # (and its job is seen here) or waits for this prune to commit.
        locked = set(
            conn.scalars(select(events.c.id).where(events.c.id.in_(candidates)).with_for_update())
        )
        busy = set(
            conn.scalars(
                select(jobs.c.event_id).where(
                    jobs.c.event_id.in_(locked), jobs.c.state.in_(ACTIVE_JOB_STATES)
                )
            )
        )
        ids = sorted(locked - busy)
        if ids:
            job_ids = select(jobs.c.id).where(jobs.c.event_id.in_(ids))
            counts["attempts"] += conn.execute(
                delete(attempts).where(
                    or_(attempts.c.event_id.in_(ids), attempts.c.job_id.in_(job_ids))
                )
            ).rowcount
            # The task memory of these events (migration 0005): their actions, and the
            # update_open keys whose open task they made (the key's next event makes a new one).
            doomed = select(deliveries.c.id).where(deliveries.c.event_id.in_(ids))
            conn.execute(delete(task_keys).where(task_keys.c.delivery_id.in_(doomed)))
            conn.execute(delete(task_actions).where(task_actions.c.event_id.in_(ids)))
            counts["deliveries"] += conn.execute(
                delete(deliveries).where(deliveries.c.event_id.in_(ids))
            ).rowcount
            counts["jobs"] += conn.execute(delete(jobs).where(jobs.c.event_id.in_(ids))).rowcount
            counts["events"] += conn.execute(delete(events).where(events.c.id.in_(ids))).rowcount
    return len(candidates)


def _prune_jobs_batch(
    engine: Engine, cutoff: datetime, batch_size: int, counts: dict[str, int]
) -> int:
    with engine.begin() as conn:
        ids = list(conn.scalars(select(jobs.c.id).where(_old_jobs(cutoff)).limit(batch_size)))
        if ids:
            counts["attempts"] += conn.execute(
                delete(attempts).where(attempts.c.job_id.in_(ids))
            ).rowcount
            counts["jobs"] += conn.execute(delete(jobs).where(jobs.c.id.in_(ids))).rowcount
    return len(ids)


def _prune_dedupe_batch(
    engine: Engine, cutoff: datetime, batch_size: int, counts: dict[str, int]
) -> int:
    with engine.begin() as conn:
        keys = conn.execute(
            select(dedupe_keys.c.source, dedupe_keys.c.key)
            .where(_old_keys(cutoff))
            .limit(batch_size)
        ).all()
        if keys:
            pairs = tuple_(dedupe_keys.c.source, dedupe_keys.c.key)
            counts["dedupe_keys"] += conn.execute(
                delete(dedupe_keys).where(pairs.in_([tuple(k) for k in keys]))
            ).rowcount
    return len(keys)


def _prune_periods_batch(
    engine: Engine, cutoff: datetime, batch_size: int, counts: dict[str, int]
) -> int:
    with engine.begin() as conn:
        ids = list(
            conn.scalars(select(circuit_periods.c.id).where(_old_periods(cutoff)).limit(batch_size))
        )
        if ids:
            counts["circuit_periods"] += conn.execute(
                delete(circuit_periods).where(circuit_periods.c.id.in_(ids))
            ).rowcount
    return len(ids)


def prune(
    engine: Engine,
    retention: RetentionSettings,
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Delete rows past their retention; rows deleted per table (or that would be, dry run).

    Events received more than ``events_days`` ago with no job ready or running
    go with their deliveries, jobs and attempts.  Done and dead jobs finished
    more than ``jobs_days`` ago go with their attempts.  Dedupe keys go after
    ``dedupe_days``: kept longer than events, so a sender's late retry of a
    pruned event is still answered as a duplicate of the old id.  The circuit
    breaker's periods that ended more than ``events_days`` ago go too, but never
    one the overview's 7-day picture still draws.
    Keys: events, deliveries, jobs, attempts, dedupe_keys, circuit_periods.
    """
    events_cutoff = now - timedelta(days=retention.events_days)
    jobs_cutoff = now - timedelta(days=retention.jobs_days)
    dedupe_cutoff = now - timedelta(days=retention.dedupe_days)
    circuit_cutoff = now - timedelta(days=max(retention.events_days, CHART_DAYS))
    if dry_run:
        return _dry_run(engine, events_cutoff, jobs_cutoff, dedupe_cutoff, circuit_cutoff)
    counts = dict.fromkeys(TABLES, 0)
    while _prune_events_batch(engine, events_cutoff, batch_size, counts) == batch_size:
        pass
    while _prune_jobs_batch(engine, jobs_cutoff, batch_size, counts) == batch_size:
        pass
    while _prune_dedupe_batch(engine, dedupe_cutoff, batch_size, counts) == batch_size:
        pass
    while _prune_periods_batch(engine, circuit_cutoff, batch_size, counts) == batch_size:
        pass
    return counts
