"""Telling PostgreSQL's listening workers that the door committed jobs, after the commit.

The door's accept used to select ``pg_notify`` inside its own durable statement.  A
transaction that notifies takes one lock for the whole cluster when it commits and keeps
it until the commit is done, disk flush included (``PreCommit_Notify`` in PostgreSQL's
``src/backend/commands/async.c``), so webhooks committing at the same moment waited for
each other's disk flush instead of sharing one: with eight clients, ``pgbench``
committed half as many such inserts per second as plain ones (BENCHMARKS.md, "Ingest").

So the accept commits without notifying, and :func:`jobs_committed` hands the wake-up
to a thread of the process, which sends it on a connection of its own (psycopg's, not
the pool's: SQLAlchemy's execution cost 0.21 ms of CPU per notice, the driver's 0.06),
in a transaction of its own with ``synchronous_commit`` off: it holds the lock only
while its commit record is written.  A lost notice loses nothing stored (the workers
also poll each second).  The accepts that come while a notice is being sent, or within
``window`` seconds after it, share the next one; a notice after a quiet spell goes at
once.  A notice always follows the commit it announces, so a woken worker finds the job.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any

from sqlalchemy.engine import Engine

from bridge.store.db import SET_LOCAL_OFF, libpq_conninfo

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "bridge_jobs"
# The shortest time between two notices of one process; also how late, at most, a
# worker hears of an accept that came just after a notice went out.
WINDOW_SECONDS = 0.01
# A sender thread with nothing to send for this long closes its connection and ends; the
# next accept starts another.
IDLE_SECONDS = 60.0

# Relaxed for this transaction only (store.db.RELAX_COMMIT says more).
_NOTICE = f"SELECT {SET_LOCAL_OFF}, pg_notify('{NOTIFY_CHANNEL}', '')"


class JobNotices:
    """One process's sender of coalesced ``NOTIFY``s to one PostgreSQL database."""

    def __init__(
        self, conninfo: str, window: float = WINDOW_SECONDS, idle: float = IDLE_SECONDS
    ) -> None:
        self._conninfo = conninfo  # holds the password: never logged
        self.window = window
        self.idle = idle
        self.sent = 0  # notices sent
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def committed(self) -> None:
        """Jobs were just committed: have the workers told soon.  Returns at once."""
        self._wanted.set()
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread is not here
                self._pid, self._thread = os.getpid(), None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-notices", daemon=True)
                self._thread.start()

    @property
    def sending(self) -> bool:
        """Whether this process has a sender thread now."""
        with self._lock:
            return self._thread is not None and self._pid == os.getpid()

    def _run(self) -> None:
        conn: Any = None
        try:
            while True:
                if not self._wanted.wait(self.idle):
                    with self._lock:
                        if not self._wanted.is_set():  # under the lock committed() takes
                            self._thread = None
                            return
                # Cleared before sending: an accept committed from here on asks for another.
                self._wanted.clear()
                conn = self._send(conn)
                time.sleep(self.window)
        finally:
            if conn is not None:
                conn.close()

    def _send(self, conn: Any) -> Any:
        """Send one notice; returns the connection to use next time (None after a failure)."""
        import psycopg  # only PostgreSQL deployments come here; SQLite ones never import it

        try:
            if conn is None:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            conn.execute(_NOTICE)
            self.sent += 1
            return conn
        except psycopg.Error as exc:  # the workers' polling finds the jobs anyway
            log.warning("could not notify the workers of new jobs: %s", type(exc).__name__)
            if conn is not None:
                conn.close()
            return None


# Weak keys: an engine nobody uses any more takes its sender with it (tests make many).
_by_engine: weakref.WeakKeyDictionary[Engine, JobNotices] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def notices_for(engine: Engine) -> JobNotices:
    """The notice sender of this engine (engines are per process: ``store.db.EngineHolder``)."""
    with _registry_lock:
        notices = _by_engine.get(engine)
        if notices is None:
            notices = _by_engine[engine] = JobNotices(libpq_conninfo(engine.url))
        return notices


def jobs_committed(engine: Engine) -> None:
    """Tell the listening workers, soon and outside the caller's commit, that jobs are there."""
    notices_for(engine).committed()
