"""A claim reads due jobs through the partial index, not by scanning and sorting the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from bridge.store.claim_statements import claim_statement
from bridge.store.db import build_engine
from bridge.store.queue import Queue, claim_params
from bridge.store.tables import jobs
from tests.faults.support import enqueue_events


def _backlog(engine, count: int) -> tuple[str, datetime]:  # type: ignore[no-untyped-def]
    """``count`` jobs, three in four already done, the last ready one made the oldest due;
    its event id, and a time at which every ready job is due."""
    ids = enqueue_events(engine, count)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id % 4 != 1).values(state="done"))
        oldest = conn.execute(
            select(jobs.c.id, jobs.c.event_id)
            .where(jobs.c.state == "ready")
            .order_by(jobs.c.id.desc())
            .limit(1)
        ).one()
        conn.execute(
            update(jobs).where(jobs.c.id == oldest.id).values(run_at=now - timedelta(minutes=1))
        )
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE jobs"))
    assert len(ids) == count
    return str(oldest.event_id), now


def test_claim_uses_the_due_index_and_takes_the_oldest_due_job(database_url):
    engine = build_engine(database_url)
    try:
        oldest, now = _backlog(engine, 2000)
        statement = claim_statement(1)
        params = claim_params("w", 60, now)
        with engine.connect() as conn:
            compiled = statement.compile(conn)
            values = compiled.construct_params(params)
            if conn.dialect.name == "postgresql":  # pyformat: parameters by name
                rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), values)
                plan = [str(row[0]) for row in rows]
            else:  # qmark: parameters in order
                # The plan does not depend on the values; text avoids sqlite3's deprecated
                # datetime adapter, which SQLAlchemy's own bind processing would bypass here.
                ordered = tuple(
                    str(values[name]) if isinstance(values[name], datetime) else values[name]
                    for name in compiled.positiontup or ()
                )
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), ordered)
                plan = [str(row[-1]) for row in rows]
            conn.rollback()
        assert any("ix_jobs_due" in line for line in plan), plan
        assert not any("Sort" in line or "TEMP B-TREE" in line for line in plan), plan
        claimed = Queue(engine).claim("w", limit=1, lease_seconds=60, now=now)
        assert [job.event_id for job in claimed] == [oldest]
    finally:
        engine.dispose()


def test_an_expired_lease_is_claimed_again_and_a_live_one_is_not(database_url):
    engine = build_engine(database_url)
    try:
        ready = set(enqueue_events(engine, 2))
        now = datetime.now(UTC)
        queue = Queue(engine)
        first = queue.claim("a", limit=2, lease_seconds=30, now=now)
        assert {job.event_id for job in first} == ready
        assert queue.claim("b", limit=2, lease_seconds=30, now=now + timedelta(seconds=10)) == []
        later = queue.claim("b", limit=2, lease_seconds=30, now=now + timedelta(seconds=31))
        assert {job.event_id for job in later} == ready
    finally:
        engine.dispose()
