"""Engines per database: SQLite pragmas, PostgreSQL pooling, and fork safety.

An engine is created lazily in the process that uses it, never inherited
across a fork: gunicorn workers and worker processes each open their own.
"""

from __future__ import annotations

import functools
import importlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Label, create_engine, event, literal_column
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Table


@functools.cache
def insert_or_nothing(table: Table, dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``table``, built by ``dialect``'s own module.

    The module ("sqlite" or "postgresql") is imported by name when first asked for, so a
    process on SQLite never loads SQLAlchemy's PostgreSQL dialect: 2.3 MiB of memory in each
    process that would (BENCHMARKS.md, Memory).  Built once per table and dialect.
    """
    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    statement: Insert = module.insert(table).on_conflict_do_nothing()
    return statement


def normalise_url(url: str) -> str:
    """Accept PaaS-style ``postgres://`` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# Execution option: False marks a transaction whose commit may be lost if the
# machine (not the process) crashes, in exchange for not waiting on the disk.
DURABLE = "bridge_durable"
# PostgreSQL: ``SET LOCAL synchronous_commit TO OFF`` as an expression, for a statement run
# on its own (``one_statement``) to select: its transaction is then relaxed at no round trip
# of its own.  PostgreSQL reads the setting when the transaction commits, so setting it in
# the middle is as good as at the start, and a statement in autocommit is a transaction of its
# own that commits at its end: ``local`` lasts until then.  A statement that returns no row
# never evaluates it, and its transaction stays durable, which is safe (such a claim or
# settlement wrote nothing).
SET_LOCAL_OFF = "set_config('synchronous_commit', 'off', true)"  # true: local
RELAX_COMMIT: Label[Any] = literal_column(SET_LOCAL_OFF).label("relaxed")
# Execution option: True marks a transaction that only reads.  On SQLite it opens with a
# plain (deferred) BEGIN instead of BEGIN IMMEDIATE: in WAL mode it reads a snapshot and takes
# no lock, so a slow read does not keep webhooks from committing.  A write in it would fail
# at once with SQLITE_BUSY while another connection writes: only reads go there.
READ_ONLY = "bridge_read_only"


@contextmanager
def transaction(engine: Engine, *, durable: bool = True) -> Iterator[Connection]:
    """``engine.begin()``, or with ``durable=False`` a commit that does not wait for the disk.

    Only for writes that a re-run recreates: the worker's claim and settlement (see
    "Delivery guarantees" in docs/architecture.md), and pruning's deletes (the next prune
    does them again).  A later durable commit makes the relaxed ones before it durable too,
    on both databases (the log is sequential).
    """
    if durable:
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.execution_options(**{DURABLE: False})
        with conn.begin():
            yield conn


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """PostgreSQL: a connection in autocommit, for a transaction that is one statement.

    In a transaction psycopg sends ``BEGIN`` before the first statement and ``COMMIT`` after
    the last, each a round trip of its own: a transaction of one statement costs three.  In
    autocommit PostgreSQL runs the statement as a transaction of its own, committed at its
    end, in one round trip.  Its commit is durable unless the statement selects
    ``RELAX_COMMIT`` (the begin hook sends nothing here).  The pool puts the connection back
    out of autocommit when it is returned.
    """
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction for reads only: on SQLite it waits for no writer and holds up none.

    Every read that is not followed by a write in the same transaction uses it: the pages,
    the API, queue depth, the worker's lookups, pruning's candidates (whose delete checks its
    conditions again under the write lock).  On SQLite a read in ``BEGIN IMMEDIATE`` would
    hold the write lock for as long as it runs, and a read over a long history (a page, a
    count) would stall every webhook and worker behind it.
    """
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        with conn.begin():
            yield conn


# SQLite's page cache per connection, in KiB (its default is 2,000).  In WAL mode a
# connection drops its whole cache when another connection has committed since its
# last transaction, and here the web's processes and the worker commit all the time,
# so a larger cache seldom keeps a page long enough to be read again; it only held
# memory (1.4 MiB of the worker process's after 10,000 jobs; BENCHMARKS.md "Memory").
# A miss reads the page from the OS's file cache.
SQLITE_CACHE_KIB = 512


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # Take transactions out of pysqlite's hands so that ours start with
        # BEGIN IMMEDIATE: a deferred read-then-write transaction fails with
        # SQLITE_BUSY at once, ignoring busy_timeout.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 2xx survives power loss
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()
        record.info["synchronous"] = "FULL"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        # WAL + NORMAL: the commit is not synced; it survives a crash of the process,
        # and the next FULL commit syncs it.  SQLite refuses the change inside a
        # transaction, so it is made here, before BEGIN, on the driver's connection.
        level = "FULL" if options.get(DURABLE, True) else "NORMAL"
        pooled = conn.connection
        raw = pooled.dbapi_connection
        try:
            if options.get(READ_ONLY, False):
                raw.execute("BEGIN")  # deferred: a read takes no lock
                return
            if pooled.info.get("synchronous") != level:
                raw.execute(f"PRAGMA synchronous={level}")
                pooled.info["synchronous"] = level
            _begin_immediate(raw, busy_timeout_ms)
        except sqlite3.Error as exc:
            # Raised from an event hook, the driver's error would reach callers
            # unwrapped; they expect SQLAlchemy's (503 at ingest, a retry in the worker).
            raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc


def _begin_immediate(raw: Any, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, retrying every 0.1-1 ms while another process holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries, so
    a transaction that arrives just after another process's gets delayed by far more
    than the other's ~1 ms; that made the tail of ingest latency with two gunicorn
    workers.  The handler is off for this one statement only.
    """
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + busy_timeout_ms / 1000
        pause = 0.0001
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")


# PostgreSQL: a pooled connection idle longer than this is pinged before use (a round trip).
# After a restart every pooled connection is dead, and the first statement on each would
# fail (a 503 at the door).  The pool's pre-ping tested every checkout, a round trip per
# webhook (BENCHMARKS.md, "What the PostgreSQL door still spends").  Under load a connection
# comes back to the pool within milliseconds and is taken again at once, so it is not
# pinged; one that sat idle for a second is, so a restart during quiet time costs no 503.
# A connection used within the second that turns out dead is the accept's one retry's to
# cover (``store.inbox``).  1 s: far above the gap between uses of a connection on a busy
# bridge, and at most a ping per connection a second on a quiet one.
IDLE_PING_SECONDS = 1.0
# ``connection_record.info`` key: when the connection was last returned to the pool
# (``time.monotonic``).  The pool clears ``info`` when it replaces the connection, so a
# fresh connection has none and is not pinged.
_RETURNED_AT = "bridge_returned_at"


def _configure_postgres(engine: Engine, idle_ping_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:  # None: the connection was invalidated, not returned
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at <= idle_ping_seconds:
            return
        try:
            # The dialect's own ping, as the pool's pre-ping sends it: on the driver's
            # cursor, in autocommit so that it opens no transaction (psycopg's is an empty
            # statement, ``;``, which is cheaper still than ``SELECT 1``).
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # SQLAlchemy's custom pessimistic disconnect handling: the pool replaces this
            # connection and tries again.  As its own pre-ping does, every connection
            # pooled before now is dropped too: one dead after a restart means all are.
            raise InvalidatePoolError(f"idle connection failed its ping: {exc}") from exc

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if not options.get(DURABLE, True):
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def build_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int | None = None,
    timeout_seconds: float | None = None,
    create_folder: bool = True,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> Engine:
    """A new engine for ``url`` with the settings this project relies on.

    ``create_folder``: make a SQLite file's folder if missing (False for commands
    that only read: see ``store.diagnose.open_existing``).

    ``timeout_seconds`` bounds how long a statement may wait for a lock (and,
    on PostgreSQL, run), and a thread for a pooled connection: a request then
    answers 503 instead of hanging until gunicorn kills it.  None (migrations)
    waits 15 s on SQLite and, for a lock, for ever on PostgreSQL.

    ``idle_ping_seconds`` (PostgreSQL): ping a pooled connection idle longer than this
    before use (see ``IDLE_PING_SECONDS``); tests pass their own to choose a case.

    ``max_overflow`` (PostgreSQL): connections opened beyond ``pool_size`` when all are in
    use, each closed as soon as it is given back; None allows as many as ``pool_size``.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        wait = timeout_seconds or 15.0
        if database and database != ":memory:":
            if create_folder:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # One connection per process: every transaction here is BEGIN IMMEDIATE,
            # so two threads' transactions never overlap anyway, and SQLite's busy
            # handler makes the loser sleep 1, 2, 5, 10... ms between tries.  Waiting
            # for the pool's one connection wakes the next thread the moment it is
            # free instead (the drain benchmark's threads spent 45 % of their time in
            # those sleeps).
            engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=wait)
        else:
            engine = create_engine(url, poolclass=NullPool if not database else None)
        _configure_sqlite(engine, int(wait * 1000))
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        # As on SQLite: a thread waits for a pooled connection no longer than for a lock.
        pool_timeout=timeout_seconds or 30.0,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, **_postgres_timeouts(timeout_seconds)},
    )
    # Surviving a PostgreSQL restart without a person stepping in: the idle ping here, the
    # accept's one retry (store.inbox), the worker's retries.
    _configure_postgres(engine, idle_ping_seconds)
    return engine


def _postgres_timeouts(timeout_seconds: float | None) -> dict[str, str]:
    if timeout_seconds is None:
        return {}
    ms = int(timeout_seconds * 1000)
    return {"options": f"-c lock_timeout={ms} -c statement_timeout={ms}"}


class EngineHolder:
    """Creates the engine on first use in each process (fork-safe)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int | None = None,
        timeout_seconds: float | None = None,
        idle_ping_seconds: float = IDLE_PING_SECONDS,
    ) -> None:
        self.url = normalise_url(url)
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.timeout_seconds = timeout_seconds
        self.idle_ping_seconds = idle_ping_seconds
        self._engine: Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()
        if self.dialect == "postgresql":
            # Import the driver now, not at the first connection: a preloading
            # gunicorn master builds this holder before it forks, so its workers
            # share psycopg's ~12 MiB of modules instead of each importing its own
            # (BENCHMARKS.md, "Memory").  Importing opens no connection.
            make_url(self.url).get_dialect().import_dbapi()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return make_url(self.url).get_backend_name()

    def get(self) -> Engine:
        """The engine of this process, created now if this process has none."""
        with self._lock:
            if self._engine is None or self._pid != os.getpid():
                if self._engine is not None:
                    # Inherited from a parent: drop its pool without closing
                    # the parent's connections.
                    self._engine.dispose(close=False)
                self._engine = build_engine(
                    self.url,
                    pool_size=self.pool_size,
                    max_overflow=self.max_overflow,
                    timeout_seconds=self.timeout_seconds,
                    idle_ping_seconds=self.idle_ping_seconds,
                )
                self._pid = os.getpid()
            return self._engine

    def dispose(self) -> None:
        """Close this process's connections (used at shutdown and in tests)."""
        with self._lock:
            if self._engine is not None and self._pid == os.getpid():
                self._engine.dispose()
            self._engine = None


def libpq_conninfo(url: str | URL) -> str:
    """A PostgreSQL URL as psycopg itself takes it: no SQLAlchemy driver name, password kept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
