"""Filling a bridge database with accepted events and their jobs, fast (no fsync per row).

The rows are written by the bridge's own ``accept`` after the source's own ``parse``, so they
are exactly what the web process would have stored; only durability is relaxed while seeding.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bench import signed
from bridge.config import load_config
from bridge.sources.base import Accepted, InboundRequest
from bridge.store.db import normalise_url
from bridge.store.inbox import accept


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
                outcome,
                headers={"content-type": "application/json"},
                body=body,
                content_type="application/json",
                now=now,
            )
            ids.append(result.event_id)
    finally:
        engine.dispose()
    return ids
