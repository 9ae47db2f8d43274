"""On SQLite, a read takes no lock: it answers while another process holds the write lock.

A read opened with ``BEGIN IMMEDIATE`` waited for the write lock and then held it for as long
as it ran, so a page or a count over a long history stalled every webhook and worker behind
it (BENCHMARKS.md, Growth). Each read below runs while a second connection, as another
process would, holds ``BEGIN IMMEDIATE`` with a write pending: with a lock-taking read it
would wait out the engine's one-second lock timeout and raise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine, make_url

from bridge.events import Event
from bridge.store import history, page_queries, queries
from bridge.store.db import build_engine
from bridge.store.events import event_payload, stored_request
from bridge.store.inbox import accept, find_duplicate
from bridge.store.queue import Queue
from bridge.store.rule_sets import stored_rules

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
DAY_AGO = NOW - timedelta(days=1)

READS: dict[str, Callable[[Engine, str], Any]] = {
    "queue_stats": lambda e, _: queries.queue_stats(e, now=NOW),
    "queue depth": lambda e, _: Queue(e).depth(now=NOW),
    "jobs_died": lambda e, _: queries.jobs_died(e, after=DAY_AGO, until=NOW),
    "list_events": lambda e, _: queries.list_events(e, search="ana"),
    "get_event": lambda e, event_id: queries.get_event(e, event_id),
    "counts_by_source": lambda e, _: queries.counts_by_source(e, since=DAY_AGO, until=NOW),
    "counts_by_state": lambda e, _: queries.counts_by_state(e),
    "overview_counts": lambda e, _: page_queries.overview_counts(
        e, hour_ago=NOW - timedelta(hours=1), day_ago=DAY_AGO
    ),
    "event page parts": lambda e, event_id: (
        page_queries.list_details(e, [event_id]),
        page_queries.stored_body(e, event_id),
        page_queries.event_actions(e, event_id),
    ),
    "history": lambda e, _: history.load_history(e, now=NOW, hours=24),
    "event_payload": lambda e, event_id: event_payload(e, event_id),
    "stored_request": lambda e, event_id: stored_request(e, event_id),
    "find_duplicate": lambda e, _: find_duplicate(e, "website", "key-1"),
    "stored_rules": lambda e, _: stored_rules(e, "0" * 64),
}


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = build_engine(sqlite_url, timeout_seconds=1)
    yield engine
    engine.dispose()


@pytest.fixture
def stored_event(engine: Engine) -> str:
    event = Event("website", "json", "form", "ext-1", NOW, fields={"email": "ana@example.org"})
    return accept(
        engine, event, "key-1", headers={}, body=b'{"a": 1}', content_type="", now=NOW
    ).event_id


@pytest.fixture
def writer(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock, with an uncommitted write."""
    path = make_url(sqlite_url).database
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE events SET state = 'processing'")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.parametrize("name", sorted(READS))
def test_a_read_answers_while_another_process_holds_the_write_lock(
    name: str, engine: Engine, stored_event: str, writer: sqlite3.Connection
) -> None:
    READS[name](engine, stored_event)  # raises "database is locked" if it takes the lock


def test_the_read_sees_the_last_commit_not_the_pending_write(
    engine: Engine, stored_event: str, writer: sqlite3.Connection
) -> None:
    found = queries.get_event(engine, stored_event)
    assert found is not None
    assert found["state"] == "received"
