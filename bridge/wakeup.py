"""PostgreSQL LISTEN/NOTIFY: wake idle workers the moment a job is committed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.store.db import EngineHolder
from bridge.store.inbox import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


def start_listener(
    database: EngineHolder, wake: Callable[[], None], stopping: threading.Event
) -> threading.Thread | None:
    """Start a thread that calls ``wake`` on every notification; None on SQLite."""
    if database.dialect != "postgresql":
        return None
    thread = threading.Thread(
        target=_listen, args=(database.url, wake, stopping), name="listener", daemon=True
    )
    thread.start()
    return thread


def _listen(url: str, wake: Callable[[], None], stopping: threading.Event) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
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
