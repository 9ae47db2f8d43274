"""The accept's writes (dedupe key, event, job) as cheap as each database allows.

The three rows are what every webhook costs at the door, so their statements are
prepared once per dialect instead of going through SQLAlchemy's execution of each:
its per-statement work (compiled-cache lookup, execution context, result set-up) cost
about as much as SQLite's inserts themselves (``bench/profile_ingest.py``; BENCHMARKS.md).

- SQLite: the three INSERTs compiled once; each value converted by its column's own
  bind processor (so a row is stored exactly as SQLAlchemy would store it), then run
  on the driver's cursor inside the engine's transaction, whose ``BEGIN IMMEDIATE``
  and commit stay the engine's.
- PostgreSQL: one statement, the three inserts as data-modifying CTEs, run in
  autocommit on the driver's cursor (``store.driver_statements``): one round trip where
  there were six (``BEGIN``, three inserts, the notify, ``COMMIT``).  A statement is
  atomic on its own; the foreign key from the job to its event is checked at its end.
  The workers hear of the job from a notice sent after the commit, not inside it
  (``store.job_notices`` says why).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, Table, bindparam, insert, literal, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError

from bridge.store.db import one_statement
from bridge.store.driver_statements import execute
from bridge.store.job_notices import jobs_committed
from bridge.store.tables import dedupe_keys, events, jobs

KEY_COLUMNS = ("source", "key", "event_id", "created_at")
EVENT_COLUMNS = (
    "id",
    "source",
    "source_type",
    "kind",
    "external_id",
    "dedupe_key",
    "email",
    "received_at",
    "updated_at",
    "state",
    "content_type",
    "headers",
    "body",
    "event",
)
JOB_COLUMNS = ("event_id", "state", "run_at", "created_at", "attempts", "claims", "rules_digest")


class _PreparedInsert:
    """One table's INSERT compiled for SQLite's positional parameters."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        statement = insert(table).values({name: bindparam(name) for name in columns})
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        if sorted(self._order) != sorted(columns):
            raise RuntimeError(f"unexpected parameters for {table.name}: {self._order}")
        # dialect_impl: the column's type as this dialect stores it (SQLite's DATETIME
        # string, its JSON), which is what SQLAlchemy's own execution would convert with.
        self._convert: dict[str, Callable[[Any], Any] | None] = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in columns
        }

    def parameters(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name in self._order:
            value = row[name]
            convert = self._convert[name]
            values.append(convert(value) if convert is not None and value is not None else value)
        return tuple(values)


@cache
def _sqlite_inserts(dialect: Dialect) -> tuple[_PreparedInsert, _PreparedInsert, _PreparedInsert]:
    return (
        _PreparedInsert(dedupe_keys, KEY_COLUMNS, dialect),
        _PreparedInsert(events, EVENT_COLUMNS, dialect),
        _PreparedInsert(jobs, JOB_COLUMNS, dialect),
    )


def _prefixed(table: Table, prefix: str, columns: Sequence[str]) -> dict[str, Any]:
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in columns}


@cache
def _postgres_statement() -> Select[Any]:
    key = insert(dedupe_keys).values(_prefixed(dedupe_keys, "k_", KEY_COLUMNS)).cte("new_key")
    event = insert(events).values(_prefixed(events, "e_", EVENT_COLUMNS)).cte("new_event")
    job = insert(jobs).values(_prefixed(jobs, "j_", JOB_COLUMNS)).cte("new_job")
    # PostgreSQL runs a data-modifying CTE whether or not the query reads it.
    return select(literal(True)).add_cte(key, event, job)


def write_accepted(
    engine: Engine, key: Mapping[str, Any], event: Mapping[str, Any], job: Mapping[str, Any]
) -> None:
    """Store the three rows in one commit; a duplicate key raises ``IntegrityError``."""
    if engine.dialect.name == "postgresql":
        params = {f"k_{name}": value for name, value in key.items()}
        params.update({f"e_{name}": value for name, value in event.items()})
        params.update({f"j_{name}": value for name, value in job.items()})
        with one_statement(engine) as conn:
            execute(conn, _postgres_statement(), params)
        jobs_committed(engine)
        return
    inserts = _sqlite_inserts(engine.dialect)
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for prepared, row in zip(inserts, (key, event, job), strict=True):
                try:
                    cursor.execute(prepared.sql, prepared.parameters(row))
                except sqlite3.Error as exc:
                    # The driver's own error, as SQLAlchemy would have raised it: callers
                    # tell a duplicate (IntegrityError) from a busy database (503).
                    raise DBAPIError.instance(prepared.sql, None, exc, sqlite3.Error) from exc
        finally:
            cursor.close()
