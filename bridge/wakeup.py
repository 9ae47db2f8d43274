"""Waking idle workers the moment a job may be there, instead of at the next poll.

Inside a process, :class:`Wakeup` lets a thread that found nothing sleep without
missing a signal sent between its look and its sleep.  Across processes,
PostgreSQL delivers ``NOTIFY`` at commit (``LISTEN`` here); SQLite has no such
thing, so a watcher notices every commit by the change it makes to the
database's write-ahead log file.  Polling stays underneath both, for retries
that come due and leases that expire.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

from bridge.store.db import EngineHolder, libpq_conninfo
from bridge.store.job_notices import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

# How often the SQLite watcher looks at the log file (a stat call: microseconds).
WATCH_INTERVAL = 0.005


class Wakeup:
    """A wake-up signal with a generation count, so that no wake-up is lost."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def mark(self) -> int:
        """The current generation: take it before looking for work."""
        with self._condition:
            return self._generation

    def notify(self) -> None:
        """Wake every waiting thread, and any about to wait on an older generation."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, since: int, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds unless a wake-up came after ``since``."""
        with self._condition:
            if self._generation == since:
                self._condition.wait(timeout)


def start_listener(
    database: EngineHolder, wake: Callable[[], None], stopping: threading.Event
) -> threading.Thread | None:
    """Start the thread that calls ``wake`` when another process commits a job.

    PostgreSQL: LISTEN.  SQLite file: watch the write-ahead log.  In-memory: None.
    """
    if database.dialect == "postgresql":
        target: Callable[[], None] = lambda: _listen(database.url, wake, stopping)  # noqa: E731
    else:
        path = make_url(database.url).database
        if not path or path == ":memory:":
            return None
        target = lambda: _watch(path, wake, stopping)  # noqa: E731
    thread = threading.Thread(target=target, name="wakeup", daemon=True)
    thread.start()
    return thread


def _listen(url: str, wake: Callable[[], None], stopping: threading.Event) -> None:
    import psycopg

    conninfo = libpq_conninfo(url)
    backoff = 0.5
    while not stopping.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                backoff = 0.5
                wake()  # anything committed while we were not listening
                while not stopping.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        wake()
        except psycopg.Error:
            # PostgreSQL restarting: polling covers the gap until we are back.
            log.warning("listener disconnected; reconnecting")
            stopping.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _watch(path: str, wake: Callable[[], None], stopping: threading.Event) -> None:
    # Every commit in WAL mode appends to (or, after a checkpoint, rewrites) the
    # -wal file; its size or modification time changes.  A change we miss (two
    # commits within one timestamp tick of a rewritten log) is caught by polling.
    files = (path + "-wal", path)
    seen = [_signature(name) for name in files]
    while not stopping.wait(WATCH_INTERVAL):
        now = [_signature(name) for name in files]
        if now != seen:
            seen = now
            wake()
