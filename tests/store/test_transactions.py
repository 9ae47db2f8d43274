"""Durable and relaxed transactions: what each asks of the database, on both databases."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from bridge.store.db import (
    SET_LOCAL_OFF,
    SQLITE_CACHE_KIB,
    build_engine,
    one_statement,
    reading,
    transaction,
)


def _commit_setting(conn) -> str:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return {1: "relaxed", 2: "durable"}[level]
    setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    return {"off": "relaxed", "on": "durable"}[setting]


def test_each_transaction_gets_the_durability_it_asks_for(database_url):
    engine = build_engine(database_url)
    try:
        seen = []
        for durable in (True, False, False, True, False):
            with transaction(engine, durable=durable) as conn:
                seen.append(_commit_setting(conn))
        with engine.begin() as conn:  # plain begin(): durable, after a relaxed one
            seen.append(_commit_setting(conn))
        assert seen == ["durable", "relaxed", "relaxed", "durable", "relaxed", "durable"]
    finally:
        engine.dispose()


# Each insert into ``written`` with ``synchronous_commit`` as PostgreSQL commits it: a
# deferred constraint trigger runs inside the commit, after the statement that relaxed it.
_RECORD_COMMITS = """
CREATE TABLE written (n integer, setting text);
CREATE FUNCTION record_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE written SET setting = current_setting('synchronous_commit') WHERE n = NEW.n;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER record_commit AFTER INSERT ON written
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_commit();
"""


def _insert(n: int, *, relax: bool, rows: bool = True) -> str:
    """An insert into ``written`` as a data-modifying CTE, selecting ``RELAX_COMMIT``'s SQL
    if ``relax``; with ``rows=False`` the select returns no row."""
    select_ = SET_LOCAL_OFF if relax else "1"
    where = "" if rows else " WHERE false"
    return f"WITH w AS (INSERT INTO written (n) VALUES ({n})) SELECT {select_}{where}"


@pytest.mark.postgres
def test_a_statement_alone_relaxes_its_own_commit(postgres_url):
    # The worker's claim and settlement run this way: one round trip, no SET LOCAL sent.
    engine = build_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_RECORD_COMMITS)
        with one_statement(engine) as conn:
            conn.exec_driver_sql(_insert(1, relax=True)).all()
            conn.exec_driver_sql(_insert(2, relax=False)).all()
            # No row, no relaxing: such a transaction stays durable (the safe way round).
            conn.exec_driver_sql(_insert(3, relax=True, rows=False)).all()
        with one_statement(engine) as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
        with engine.connect() as conn:
            seen = dict(conn.exec_driver_sql("SELECT n, setting FROM written").all())
            assert seen == {1: "off", 2: "on", 3: "on"}
            # Given back to the pool out of autocommit: a transaction is one again.
            assert conn.connection.dbapi_connection.autocommit is False
    finally:
        engine.dispose()


def test_relaxed_commits_are_committed(database_url):
    engine = build_engine(database_url)
    try:
        with transaction(engine, durable=False) as conn:
            conn.execute(text("CREATE TABLE relaxed_rows (n INTEGER)"))
        with transaction(engine, durable=False) as conn:
            conn.execute(text("INSERT INTO relaxed_rows VALUES (1)"))
        other = build_engine(database_url)  # another process's view
        try:
            with other.connect() as conn:
                assert conn.execute(text("SELECT n FROM relaxed_rows")).scalar_one() == 1
        finally:
            other.dispose()
    finally:
        engine.dispose()


def test_sqlite_threads_share_one_connection_without_busy_errors(sqlite_url):
    # One pooled connection per process: threads queue for it instead of meeting in
    # SQLite's busy handler; none of them fails and every write lands.
    engine = build_engine(sqlite_url, timeout_seconds=10)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counted (n INTEGER)"))
        errors: list[BaseException] = []

        def write(start: int) -> None:
            try:
                for n in range(start, start + 50):
                    with transaction(engine, durable=n % 2 == 0) as conn:
                        conn.execute(text("INSERT INTO counted VALUES (:n)"), {"n": n})
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(k * 50,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(DISTINCT n) FROM counted")).scalar_one() == 400
        assert engine.pool.size() == 1
    finally:
        engine.dispose()


def test_sqlite_lock_held_elsewhere_waits_then_fails_as_sqlalchemy_error(sqlite_url):
    # Another process (here: a raw connection) holds the write lock past the timeout: the
    # caller gets SQLAlchemy's OperationalError (what ingest turns into a 503), not a hang.
    import sqlite3

    from sqlalchemy.exc import OperationalError

    engine = build_engine(sqlite_url, timeout_seconds=0.3)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT 1"))
            raise AssertionError("the transaction began while another held the lock")
        except OperationalError as exc:
            assert "locked" in str(exc)
        holder.execute("COMMIT")
        with engine.begin() as conn:  # free again: it goes through
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 300
    finally:
        holder.close()
        engine.dispose()


def test_a_sqlite_read_waits_for_no_writer(sqlite_url):
    # reading(): a plain BEGIN, no lock. While another process holds the write lock with a
    # row not yet committed, it reads at once (a begin() would wait, then fail) and sees
    # only what was committed.
    import sqlite3

    engine = build_engine(sqlite_url, timeout_seconds=0.3)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counted (n INTEGER)"))
            conn.execute(text("INSERT INTO counted VALUES (1)"))
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO counted VALUES (2)")
        for _ in range(3):
            with reading(engine) as conn:
                assert list(conn.scalars(text("SELECT n FROM counted"))) == [1]
        holder.execute("COMMIT")
        with reading(engine) as conn:
            assert list(conn.scalars(text("SELECT n FROM counted ORDER BY n"))) == [1, 2]
            # ... and holds up no writer while it is open.
            holder.execute("PRAGMA busy_timeout=300")
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO counted VALUES (3)")
            holder.execute("COMMIT")
        with engine.begin() as conn:  # the next write transaction is BEGIN IMMEDIATE again
            conn.execute(text("INSERT INTO counted VALUES (4)"))
            assert conn.scalar(text("SELECT count(*) FROM counted")) == 4
    finally:
        holder.close()
        engine.dispose()


def test_a_sqlite_connection_keeps_a_small_page_cache(sqlite_url):
    # Each process's one connection drops its cache whenever another process commits,
    # so the default 2,000 KiB mostly held memory (BENCHMARKS.md, "Memory").
    engine = build_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SQLITE_CACHE_KIB
        assert 0 < SQLITE_CACHE_KIB < 2000
    finally:
        engine.dispose()
