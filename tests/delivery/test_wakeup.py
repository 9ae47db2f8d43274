"""Wake-ups: none lost in a process; SQLite commits and PostgreSQL NOTIFY seen across them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bridge.store.db import EngineHolder
from bridge.store.inbox import enqueue
from bridge.wakeup import Wakeup, start_listener
from tests.faults.support import enqueue_events


def waits_forever(wakeup: Wakeup, seen: int) -> bool:
    """Whether ``wait`` would still be sleeping after five seconds (its timeout is an hour)."""
    thread = threading.Thread(target=wakeup.wait, args=(seen, 3600.0), daemon=True)
    thread.start()
    thread.join(5)
    return thread.is_alive()


def test_a_wake_up_between_looking_and_sleeping_is_not_lost() -> None:
    wakeup = Wakeup()
    seen = wakeup.mark()  # look for work: none...
    wakeup.notify()  # ...a job arrives before the thread sleeps
    assert not waits_forever(wakeup, seen)


def test_a_thread_asleep_is_woken() -> None:
    wakeup = Wakeup()
    seen = wakeup.mark()
    thread = threading.Thread(target=wakeup.wait, args=(seen, 3600.0), daemon=True)
    thread.start()
    wakeup.notify()
    thread.join(5)
    assert not thread.is_alive()


def test_the_sqlite_watcher_wakes_on_a_commit_by_another_connection(sqlite_url: str) -> None:
    woken = threading.Event()
    stopping = threading.Event()
    database = EngineHolder(sqlite_url)
    thread = start_listener(database, woken.set, stopping)
    try:
        assert thread is not None
        woken.wait(1)  # the first look may count as a change
        woken.clear()
        other = EngineHolder(sqlite_url)  # as if another process enqueued
        enqueue_events(other.get(), 1)
        other.dispose()
        assert woken.wait(5)
    finally:
        stopping.set()
        if thread is not None:
            thread.join(5)
        database.dispose()


@pytest.mark.postgres
def test_postgres_notify_wakes_the_listener(postgres_url: str) -> None:
    woken = threading.Event()
    stopping = threading.Event()
    database = EngineHolder(postgres_url)
    engine = database.get()
    (event_id,) = enqueue_events(engine, 1)  # an event to queue a job for (no NOTIFY yet)
    thread = start_listener(database, woken.set, stopping)
    try:
        assert thread is not None
        assert woken.wait(10)  # it wakes once when it starts listening
        woken.clear()
        with engine.begin() as conn:
            enqueue(conn, event_id, datetime.now(UTC))
            assert not woken.wait(0.5)  # not before the commit
        assert woken.wait(5)
    finally:
        stopping.set()
        if thread is not None:
            thread.join(5)
        database.dispose()


def test_in_memory_sqlite_has_no_watcher() -> None:
    assert start_listener(EngineHolder("sqlite://"), lambda: None, threading.Event()) is None
