"""The growth benchmark's history: cloned rows the bridge itself can live with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench import history, stack
from bench.seed import _fast_engine, seed_events
from bridge.config.sections import RetentionSettings
from bridge.ivvy.sandbox import SandboxServer
from bridge.store.maintenance import prune
from bridge.store.tables import attempts, dedupe_keys, deliveries, events, jobs

COUNT = 40


def test_grown_history_is_handled_events_the_bridge_keeps_using(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    (tmp_path / "templates").mkdir()
    templates = history.make_templates(tmp_path / "templates", sandbox.url, count=3)
    # Three asked for, plus the warm-up ones seeded_worker runs first: every one handled.
    assert len(templates) > 3
    now = datetime.now(UTC)
    history.grow(database_url, templates, COUNT, days=31, batch=15, now=now)

    tables = (events, dedupe_keys, jobs, deliveries, attempts)
    assert history.table_counts(database_url) == {t.name: COUNT for t in tables}
    engine = _fast_engine(database_url)
    try:
        with engine.connect() as conn:
            assert set(conn.scalars(select(events.c.state))) == {"done"}
            assert set(conn.scalars(select(jobs.c.state))) == {"done"}
            assert set(conn.scalars(select(deliveries.c.state))) == {"done"}
            keys = conn.execute(select(dedupe_keys.c.key, dedupe_keys.c.event_id)).all()
            stored = conn.execute(select(events.c.dedupe_key, events.c.id)).all()
            assert sorted(map(tuple, keys)) == sorted(map(tuple, stored))
            # Every attempt belongs to a job of its own event.
            linked = conn.execute(
                select(func.count())
                .select_from(attempts.join(jobs, attempts.c.job_id == jobs.c.id))
                .where(attempts.c.event_id == jobs.c.event_id)
            ).scalar_one()
            assert linked == COUNT
            received = sorted(conn.scalars(select(events.c.received_at)))
        assert now - timedelta(days=31) <= received[0] < received[-1] < now
    finally:
        engine.dispose()

    # The bridge goes on accepting: new ids past the cloned ones (PostgreSQL's sequences),
    # and a sender's retry of a history delivery is answered as its duplicate.
    config = stack.bench_config(tmp_path, sandbox.url)
    env = stack.bridge_env(database_url, config)
    seed_events(database_url, config, env, "after", 2)
    duplicate = seed_events(database_url, config, env, history.HISTORY_TAG, 1)
    with engine.connect() as conn:
        first_clone = conn.scalar(
            select(events.c.id).where(events.c.external_id == f"{history.HISTORY_TAG}-0")
        )
        assert conn.scalar(select(func.count()).select_from(jobs)) == COUNT + 2
    assert duplicate == [first_clone]
    engine.dispose()

    # A 30-day retention prunes exactly the clones received more than 30 days ago.
    due = sum(1 for at in received if at < now - timedelta(days=30))
    assert 0 < due < COUNT
    retention = RetentionSettings(events_days=30, jobs_days=30, dedupe_days=30)
    counts = prune(engine, retention, now=now)
    engine.dispose()
    # The history has no circuit periods: none are due (prune counts them since issue 17).
    assert counts == {t.name: due for t in tables} | {"circuit_periods": 0}
