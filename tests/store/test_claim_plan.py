"""A claim reads due jobs through the partial index, not by scanning and sorting the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from bridge.store.db import build_engine
from bridge.store.queue import Queue, _claim_statement
from bridge.store.tables import events, jobs


def _backlog(engine, count: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            insert(events),
            [
                {
                    "id": f"ev_{n:06d}",
                    "source": "s",
                    "source_type": "form",
                    "kind": "k",
                    "dedupe_key": f"k{n}",
                    "received_at": now,
                    "updated_at": now,
                    "state": "received",
                    "content_type": "application/json",
                    "headers": {},
                    "body": b"{}",
                }
                for n in range(count)
            ],
        )
        conn.execute(
            insert(jobs),
            [
                {
                    "event_id": f"ev_{n:06d}",
                    # most finished, the rest due at different times
                    "state": "done" if n % 4 else "ready",
                    "run_at": now - timedelta(seconds=count - n),
                    "created_at": now,
                    "attempts": 0,
                    "claims": 0,
                }
                for n in range(count)
            ],
        )
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE jobs"))


def test_claim_uses_the_due_index_and_takes_the_oldest_due_job(database_url):
    engine = build_engine(database_url)
    now = datetime.now(UTC)
    try:
        _backlog(engine, 2000, now)
        statement = _claim_statement(1)
        params = {"p_now": now, "p_owner": "w", "p_expires": now + timedelta(seconds=60)}
        with engine.connect() as conn:
            compiled = statement.compile(conn)
            values = compiled.construct_params(params)
            if conn.dialect.name == "postgresql":  # pyformat: parameters by name
                rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), values)
                plan = [str(row[0]) for row in rows]
            else:  # qmark: parameters in order
                ordered = tuple(values[name] for name in compiled.positiontup or ())
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), ordered)
                plan = [str(row[-1]) for row in rows]
            conn.rollback()
        assert any("ix_jobs_due" in line for line in plan), plan
        assert not any("Sort" in line or "TEMP B-TREE" in line for line in plan), plan
        claimed = Queue(engine).claim("w", limit=1, lease_seconds=60, now=now)
        assert [job.event_id for job in claimed] == ["ev_000000"]
    finally:
        engine.dispose()


def test_an_expired_lease_is_claimed_again_and_a_live_one_is_not(database_url):
    engine = build_engine(database_url)
    now = datetime.now(UTC)
    try:
        _backlog(engine, 8, now)  # ready: ev_000000, ev_000004
        queue = Queue(engine)
        first = queue.claim("a", limit=2, lease_seconds=30, now=now)
        assert {job.event_id for job in first} == {"ev_000000", "ev_000004"}
        assert queue.claim("b", limit=2, lease_seconds=30, now=now + timedelta(seconds=10)) == []
        later = queue.claim("b", limit=2, lease_seconds=30, now=now + timedelta(seconds=31))
        assert {job.event_id for job in later} == {"ev_000000", "ev_000004"}
    finally:
        engine.dispose()
