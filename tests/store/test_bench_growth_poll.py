"""The growth benchmark's drain poll reads without the write lock and through the primary key.

It ran every 0.5 s beside the worker it measured. Read in ``BEGIN IMMEDIATE`` (what every
transaction of ``build_engine`` opens with on SQLite) and with ``state = 'done'`` in SQL (a
walk of ``ix_jobs_state_run_at`` over every done job), it held the worker's write lock for
0.1-0.2 s in every 0.5 s on a million-event history, and that was the drain's whole loss there
(BENCHMARKS.md, "Growth: a million stored events").
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from sqlalchemy import update

from bench.growth import JOBS_AFTER, _job_times
from bridge.store.db import build_engine
from bridge.store.tables import jobs
from tests.faults.support import enqueue_events


def _jobs(url: str) -> None:
    """Six jobs: ids 1-2 done (before the drain), 3-6 the drain's, 4 and 6 done."""
    engine = build_engine(url)
    try:
        enqueue_events(engine, 6)
        with engine.begin() as conn:
            for job_id, finished in ((1, 1), (2, 2), (6, 3), (4, 4)):
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id)
                    .values(
                        state="done", finished_at=datetime(2026, 1, 1, 0, 0, finished, tzinfo=UTC)
                    )
                )
    finally:
        engine.dispose()


def test_the_poll_counts_the_drains_done_jobs_in_finish_order(database_url: str) -> None:
    _jobs(database_url)
    done, times = _job_times(database_url, 2)
    assert done == 2
    assert [moment.second for moment in times] == [3, 4]


def test_the_poll_does_not_wait_for_the_write_lock_on_sqlite(sqlite_url: str) -> None:
    _jobs(sqlite_url)
    writer = sqlite3.connect(sqlite_url.split(":///", 1)[1], isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a worker's transaction, holding the write lock
        started = time.monotonic()
        done, _times = _job_times(sqlite_url, 2)
        assert done == 2
        # BEGIN IMMEDIATE would wait here for the lock until its 15 s timeout, then fail.
        assert time.monotonic() - started < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_polls_plan_is_a_primary_key_range(sqlite_url: str) -> None:
    engine = build_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            sql = str(JOBS_AFTER.compile(conn))
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (2,)).all()
    finally:
        engine.dispose()
    assert [row[-1] for row in plan] == ["SEARCH jobs USING INTEGER PRIMARY KEY (rowid>?)"]
