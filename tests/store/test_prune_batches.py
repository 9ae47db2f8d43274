"""Pruning in the dialect's own batch size deletes exactly what the dry run counts, no more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bridge.config.sections import RetentionSettings
from bridge.store.db import build_engine, reading
from bridge.store.pruning import SQLITE_BATCH_SIZE, prune
from bridge.store.tables import dedupe_keys, events, jobs
from tests.faults.support import enqueue_events

DAY = timedelta(days=1)


def test_default_batches_delete_what_the_dry_run_counts(database_url):
    engine = build_engine(database_url)
    # More old events than one SQLite batch holds, with a partial last batch.
    old, waiting, recent = 2 * SQLITE_BATCH_SIZE + 15, 5, 10
    try:
        ids = enqueue_events(engine, old + waiting + recent)
        gone, kept, fresh = ids[:old], ids[old : old + waiting], ids[old + waiting :]
        now = datetime.now(UTC)
        with engine.begin() as conn:
            # Handled 40 days ago; their keys, and the keys of the waiting ones, 70 days old.
            conn.execute(
                update(events)
                .where(events.c.id.in_(gone + kept))
                .values(received_at=now - 40 * DAY, state="done")
            )
            conn.execute(
                update(jobs)
                .where(jobs.c.event_id.in_(gone))
                .values(state="done", finished_at=now - 40 * DAY)
            )
            conn.execute(
                update(dedupe_keys)
                .where(dedupe_keys.c.event_id.in_(gone + kept))
                .values(created_at=now - 70 * DAY)
            )
            # Recent events whose jobs finished before the jobs' retention: the jobs go.
            conn.execute(
                update(jobs)
                .where(jobs.c.event_id.in_(fresh))
                .values(state="done", finished_at=now - 10 * DAY)
            )
        retention = RetentionSettings(events_days=30, jobs_days=7, dedupe_days=60)
        expected = {
            "events": old,
            "deliveries": 0,
            "jobs": old + recent,
            "attempts": 0,
            "dedupe_keys": old,
            "circuit_periods": 0,
        }
        assert prune(engine, retention, now=now, dry_run=True) == expected
        assert prune(engine, retention, now=now) == expected

        with reading(engine) as conn:
            assert set(conn.scalars(select(events.c.id))) == set(kept + fresh)
            states = dict(conn.execute(select(jobs.c.event_id, jobs.c.state)).all())
            assert states == dict.fromkeys(kept, "ready")
            assert set(conn.scalars(select(dedupe_keys.c.event_id))) == set(kept + fresh)
            assert conn.scalar(select(func.count()).select_from(jobs)) == waiting
        assert prune(engine, retention, now=now) == dict.fromkeys(expected, 0)
    finally:
        engine.dispose()
