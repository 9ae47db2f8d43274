"""Pruning: old events, finished jobs, dedupe keys and circuit periods, in short batches.

Each batch reads its candidates first, in a transaction that only reads (on SQLite a plain
``BEGIN``, which takes no lock: ``store.db.reading``), then deletes them in a write
transaction of its own that checks their conditions again, so a row that changed in between
(an event replayed since) stays.  On SQLite, whose one write lock every webhook needs too,
batches are small and each is followed by a pause at least as long as it held the lock, so
the webhooks that queued meanwhile commit before the next batch begins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from bridge.config.sections import RetentionSettings
from bridge.store.db import reading, transaction
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

# Rows per batch (events with their jobs, deliveries and attempts; or jobs, keys, periods).
# SQLite has one write lock for the whole database and every webhook needs it: batches of
# 500 events held it long enough to take ingest's p99 from 59 ms to 1.5 s during a prune of
# 100,000 stored events (BENCHMARKS.md, "Growth").  PostgreSQL locks only the rows it
# deletes, so its batches stay large: fewer commits, each of which waits for the disk.
SQLITE_BATCH_SIZE = 50
POSTGRES_BATCH_SIZE = 500
# After each batch on SQLite the prune sleeps as long as the batch held the write lock, and
# never less than this: webhooks waiting for the lock (they retry every 0.1-1 ms) take it
# in between, and a prune holds the lock at most about half of the time.
SQLITE_PAUSE_SECONDS = 0.01
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
    doomed_events = old_events(events_cutoff)
    doomed_jobs = select(jobs.c.id).where(
        or_(_old_jobs(jobs_cutoff), jobs.c.event_id.in_(doomed_events))
    )
    with reading(engine) as conn:
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


class _Batches:
    """One prune's batch size, its counts, and its write transactions, paced on SQLite."""

    def __init__(self, engine: Engine, batch_size: int | None) -> None:
        self.engine = engine
        self.paced = engine.dialect.name == "sqlite"
        default = SQLITE_BATCH_SIZE if self.paced else POSTGRES_BATCH_SIZE
        self.size = batch_size or default
        self.counts = dict.fromkeys(TABLES, 0)

    def candidates(self, query: Select[Any]) -> list[Any]:
        """The first batch of ``query``'s rows, read without the write lock."""
        with reading(self.engine) as conn:
            return list(conn.execute(query.limit(self.size)))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite, then a pause as long as it held the lock.

        Its commit does not wait for the disk (``durable=False``): a prune the machine's crash
        undid is done again by the next one, and a later durable commit takes it along (the
        log is sequential).  On SQLite the fsync was most of the time a batch held the lock.
        """
        with transaction(self.engine, durable=False) as conn:
            began = time.monotonic()
            yield conn
        if self.paced:
            time.sleep(max(SQLITE_PAUSE_SECONDS, time.monotonic() - began))


def delete_events(conn: Connection, candidates: Sequence[str], counts: dict[str, int]) -> None:
    """Delete those of ``candidates`` that still have no job waiting or running.

    ``candidates`` were read before this write transaction began (received before the
    cutoff, which never changes; no active job then).  Their rows are locked first and their
    jobs looked for in a fresh statement: a replay holds the event's row lock while it queues
    a job, so it either finished (and its job is seen here) or waits for this commit.
    """
    locked = set(
        conn.scalars(select(events.c.id).where(events.c.id.in_(candidates)).with_for_update())
    )
    # The state is tested here, not in SQL: with it there, SQLite walks ix_jobs_state_run_at
    # over every waiting job (a backlog) instead of looking up these events' jobs.
    rows = conn.execute(select(jobs.c.event_id, jobs.c.state).where(jobs.c.event_id.in_(locked)))
    busy = {row.event_id for row in rows if row.state in ACTIVE_JOB_STATES}
    ids = sorted(locked - busy)
    if not ids:
        return
    job_ids = select(jobs.c.id).where(jobs.c.event_id.in_(ids))
    counts["attempts"] += conn.execute(
        delete(attempts).where(or_(attempts.c.event_id.in_(ids), attempts.c.job_id.in_(job_ids)))
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


def old_events(cutoff: datetime) -> Select[Any]:
    """Ids of events received before ``cutoff`` with no job waiting or running."""
    return select(events.c.id).where(_old_events(cutoff))


def _events_batch(run: _Batches, cutoff: datetime) -> int:
    candidates = [row.id for row in run.candidates(old_events(cutoff))]
    if candidates:
        with run.write() as conn:
            delete_events(conn, candidates, run.counts)
    return len(candidates)


def old_jobs(cutoff: datetime) -> Select[Any]:
    """Ids of finished jobs past ``cutoff``: read through ``ix_jobs_finished`` (migration 0006)."""
    return select(jobs.c.id).where(_old_jobs(cutoff))


def _jobs_batch(run: _Batches, cutoff: datetime) -> int:
    candidates = [row.id for row in run.candidates(old_jobs(cutoff))]
    if candidates:
        with run.write() as conn:
            # Checked again, on rows read by id: with the conditions in SQL, SQLite would
            # walk ix_jobs_finished over every due job instead of looking up these.
            rows = conn.execute(
                select(jobs.c.id, jobs.c.state, jobs.c.finished_at)
                .where(jobs.c.id.in_(candidates))
                .with_for_update()
            )
            ids = [
                row.id
                for row in rows
                if row.state in FINISHED_JOB_STATES
                and row.finished_at is not None
                and row.finished_at < cutoff
            ]
            if ids:
                run.counts["attempts"] += conn.execute(
                    delete(attempts).where(attempts.c.job_id.in_(ids))
                ).rowcount
                run.counts["jobs"] += conn.execute(delete(jobs).where(jobs.c.id.in_(ids))).rowcount
    return len(candidates)


def _dedupe_batch(run: _Batches, cutoff: datetime) -> int:
    keys = run.candidates(select(dedupe_keys.c.source, dedupe_keys.c.key).where(_old_keys(cutoff)))
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    if keys:
        with run.write() as conn:
            # One source at a time: SQLite reads `(source, key) IN (VALUES ...)` by scanning
            # the whole table, `source = ? AND key IN (...)` through the primary key.
            for source, names in by_source.items():
                chosen = (dedupe_keys.c.source == source) & dedupe_keys.c.key.in_(names)
                run.counts["dedupe_keys"] += conn.execute(
                    delete(dedupe_keys).where(chosen, _old_keys(cutoff))
                ).rowcount
    return len(keys)


def _periods_batch(run: _Batches, cutoff: datetime) -> int:
    ids = [
        row.id for row in run.candidates(select(circuit_periods.c.id).where(_old_periods(cutoff)))
    ]
    if ids:
        with run.write() as conn:
            run.counts["circuit_periods"] += conn.execute(
                delete(circuit_periods).where(circuit_periods.c.id.in_(ids), _old_periods(cutoff))
            ).rowcount
    return len(ids)


def prune(
    engine: Engine,
    retention: RetentionSettings,
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int | None = None,
) -> dict[str, int]:
    """Delete rows past their retention; rows deleted per table (or that would be, dry run).

    Events received more than ``events_days`` ago with no job ready or running
    go with their deliveries, jobs and attempts.  Done and dead jobs finished
    more than ``jobs_days`` ago go with their attempts.  Dedupe keys go after
    ``dedupe_days``: kept longer than events, so a sender's late retry of a
    pruned event is still answered as a duplicate of the old id.  The circuit
    breaker's periods that ended more than ``events_days`` ago go too, but never
    one the overview's 7-day picture still draws.  ``batch_size`` defaults to
    ``SQLITE_BATCH_SIZE`` or ``POSTGRES_BATCH_SIZE``.
    Keys: events, deliveries, jobs, attempts, dedupe_keys, circuit_periods.
    """
    events_cutoff = now - timedelta(days=retention.events_days)
    jobs_cutoff = now - timedelta(days=retention.jobs_days)
    dedupe_cutoff = now - timedelta(days=retention.dedupe_days)
    circuit_cutoff = now - timedelta(days=max(retention.events_days, CHART_DAYS))
    if dry_run:
        return _dry_run(engine, events_cutoff, jobs_cutoff, dedupe_cutoff, circuit_cutoff)
    run = _Batches(engine, batch_size)
    while _events_batch(run, events_cutoff) == run.size:
        pass
    while _jobs_batch(run, jobs_cutoff) == run.size:
        pass
    while _dedupe_batch(run, dedupe_cutoff) == run.size:
        pass
    while _periods_batch(run, circuit_cutoff) == run.size:
        pass
    return run.counts
