"""Pruning reads what it deletes through indexes: no batch walks a table of stored history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, text, update
from sqlalchemy.engine import Engine

from bridge.config.sections import RetentionSettings
from bridge.store.db import build_engine
from bridge.store.pruning import prune
from bridge.store.tables import dedupe_keys, events, jobs
from tests.faults.support import enqueue_events

DAY = timedelta(days=1)
# The tables that grow with history: a plan that scans one costs O(history) per batch.
GROWING = ("events", "jobs", "deliveries", "attempts", "dedupe_keys", "task_keys", "task_actions")
# Indexes led by a state: a search on the state alone walks every job or event in it.
BY_STATE = ("ix_jobs_state_run_at", "ix_events_state")
JOBS_PASS = re.compile(r"SELECT jobs\.id\s+FROM jobs\s+WHERE jobs\.state IN .* LIMIT", re.DOTALL)


@contextmanager
def planned(engine: Engine) -> Iterator[dict[str, list[str]]]:
    """Each SELECT and DELETE run on ``engine`` meanwhile, with the plan the database made
    for it (EXPLAIN on the same connection, with the same parameters, just before it ran)."""
    plans: dict[str, list[str]] = {}
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "DELETE")):
            other = cursor.connection.cursor()
            other.execute(explain + statement, parameters)
            plans[statement] = [str(row[-1]) for row in other]  # the plan's text: last column
            other.close()

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield plans
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _finished_history(engine: Engine, count: int, old: int) -> datetime:
    """``count`` events with done jobs, the first ``old`` of them received and finished 40 days
    ago, the rest a day ago; the time they were made at."""
    ids = enqueue_events(engine, count)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for chosen, age in ((ids[:old], 40 * DAY), (ids[old:], DAY)):
            then = now - age
            conn.execute(
                update(events).where(events.c.id.in_(chosen)).values(received_at=then, state="done")
            )
            conn.execute(
                update(jobs)
                .where(jobs.c.event_id.in_(chosen))
                .values(state="done", finished_at=then)
            )
            conn.execute(
                update(dedupe_keys)
                .where(dedupe_keys.c.event_id.in_(chosen))
                .values(created_at=then)
            )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE jobs"))
    return now


def test_the_jobs_pass_reads_finished_jobs_through_their_index(database_url):
    engine = build_engine(database_url)
    try:
        now = _finished_history(engine, 2000, old=40)
        # Jobs only (events are kept 90 days): exactly the 40 finished before the cutoff go.
        retention = RetentionSettings(events_days=90, jobs_days=7, dedupe_days=90)
        with planned(engine) as plans:
            counts = prune(engine, retention, now=now)
        assert (counts["jobs"], counts["events"], counts["dedupe_keys"]) == (40, 0, 0)
        (plan,) = [plan for statement, plan in plans.items() if JOBS_PASS.search(statement)]
        assert any("ix_jobs_finished" in line for line in plan), plan
        assert not any("Seq Scan" in line or "ix_jobs_state_run_at" in line for line in plan)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(jobs)) == 1960
            oldest = conn.scalar(select(func.min(jobs.c.finished_at)))
        assert oldest > now - 7 * DAY
    finally:
        engine.dispose()


def test_no_statement_of_a_sqlite_prune_walks_a_growing_table(sqlite_url):
    """Every statement a prune runs, candidates and deletes, reads by key or by a range."""
    engine = build_engine(sqlite_url)
    try:
        now = _finished_history(engine, 300, old=120)
        retention = RetentionSettings(events_days=30, jobs_days=7, dedupe_days=30)
        with planned(engine) as plans:
            counts = prune(engine, retention, now=now, batch_size=50)
        assert (counts["events"], counts["jobs"], counts["dedupe_keys"]) == (120, 120, 120)
        ran = {re.sub(r"\s+", " ", statement).split(" WHERE")[0] for statement in plans}
        tables = ("events", "jobs", "deliveries", "attempts", "dedupe_keys", "task_keys")
        assert {f"DELETE FROM {table}" for table in tables} <= ran, ran
        walks = {
            statement: plan
            for statement, plan in plans.items()
            if any(
                re.match(rf"SCAN ({'|'.join(GROWING)})\b", line)
                or any(index in line for index in BY_STATE)
                for line in plan
            )
        }
        assert walks == {}
    finally:
        engine.dispose()
