"""Filling a bridge database with accepted events and their jobs, fast (no fsync per row).

The rows are written by the bridge's own ``accept`` after the source's own ``parse``, so they
are exactly what the web process would have stored; only durability is relaxed while seeding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bench import signed, stack
from bridge.config import load_config
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sources.base import Accepted, InboundRequest
from bridge.store.db import normalise_url
from bridge.store.inbox import accept
from bridge.worker import Worker

# Jobs a seeded worker runs before it is handed over: the first build caches and connections.
WARM_UP = 5


def _fast_engine(database_url: str) -> Engine:
    url = normalise_url(database_url)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _relaxed(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if url.startswith("sqlite"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("SET synchronous_commit = off")
            # psycopg opened a transaction for the SET: end it, so the pool hands out an idle
            # connection (the accept switches it to autocommit, which an open one refuses).
            dbapi_conn.commit()
        cursor.close()

    return engine


def seed_events(
    database_url: str, config_path: Path, env: Mapping[str, str], tag: str, count: int
) -> list[str]:
    """Store ``count`` signed Typeform deliveries as accepted events with ready jobs."""
    source = load_config(str(config_path), env).sources[signed.SOURCE]
    engine = _fast_engine(database_url)
    ids = []
    try:
        for number in range(count):
            body = signed.body_for(tag, number)
            now = datetime.now(UTC)
            inbound = InboundRequest(
                body=body,
                headers={k.lower(): v for k, v in signed.headers(body).items()},
                content_type="application/json",
            )
            outcome = source.parse(inbound, now)
            assert isinstance(outcome, Accepted)
            result = accept(
                engine,
                outcome.event,
                outcome.dedupe_key,
                headers={"content-type": "application/json"},
                body=body,
                content_type="application/json",
                now=now,
            )
            ids.append(result.event_id)
    finally:
        engine.dispose()
    return ids


@contextmanager
def seeded_worker(db: str, directory: Path, config: Path, tag: str, jobs: int) -> Iterator[Worker]:
    """A worker in this process on a fresh ``db`` database, warmed up, with ``jobs`` left to run.

    For the in-process drain measurements (``profile_drain.py``, ``count_statements.py``):
    the events are seeded, ``WARM_UP`` jobs more than asked, and those are run first.
    """
    with stack.bridge_database(db, directory) as url:
        env = stack.bridge_env(url, config)
        os.environ.update(env)  # the config's ${VARS}
        seed_events(url, config, env, tag, jobs + WARM_UP)
        runtime = Runtime.from_env(Settings.from_env(env))
        worker = Worker(runtime)
        worker.run_pending(WARM_UP)
        try:
            yield worker
        finally:
            runtime.database.dispose()
