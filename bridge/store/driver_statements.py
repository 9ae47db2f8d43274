"""The worker's statements, and PostgreSQL's accept, run on the driver's cursor, each compiled once.

SQLAlchemy's execution around the driver (compiled-cache lookup, execution context,
parameters and result set-up) cost the worker 0.74-0.87 ms of CPU a job on SQLite, nearly
three times the driver's own 0.28-0.33, and 0.78-0.90 ms over PostgreSQL's three statements
(``bench/sqlalchemy_share.py``; BENCHMARKS.md, Drain).  At one job at a time that CPU is on
the path of every call to iVvy; at the door it is CPU spent on every webhook.

``execute`` compiles a statement once per set of parameter names, as SQLAlchemy would for
the dialect, and keeps its SQL, its parameters (each converted by its type's own bind
processor, or the value bound in the statement itself; in order for SQLite's ``?``, by name
for psycopg's ``%(name)s``) and its result columns (each converted by its type's result
processor).  So a row is written and read exactly as SQLAlchemy's own execution would
(``tests/store/test_driver_statements.py``, on both databases).  It runs in the caller's
transaction, whose begin and commit stay the engine's, or in autocommit
(``db.one_statement``: the statement is its own transaction, so no begin event fires, and
the engine's begin hooks, which only shape a transaction, have nothing to do).  It fires
the engine's ``before_cursor_execute`` and ``after_cursor_execute`` events so that what
counts statements still sees them.  The driver's errors are handled by the connection as
its own execution would: wrapped in SQLAlchemy's classes, and a connection found dead
invalidated with the pool (``connection_invalidated``, which the accept's one retry reads).

What it cannot prepare goes through SQLAlchemy: a parameter expanded at execution (as ``IN``
lists are), many rows at once on PostgreSQL (SQLAlchemy batches those into one ``INSERT``),
and a connection that has not begun its transaction (SQLAlchemy's autobegin runs the
engine's begin hooks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Executable
from sqlalchemy.engine import Connection, Dialect

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
_Convert = Callable[[Any], Any] | None


class _Bind(NamedTuple):
    name: str
    given: bool  # from the caller's parameters, else ``value`` (bound in the statement)
    value: Any
    convert: _Convert


class _Prepared(NamedTuple):
    sql: str
    binds: tuple[_Bind, ...]
    keys: tuple[str, ...] | None  # psycopg: each bind's name in the SQL; None: positional
    columns: tuple[str, ...]
    results: tuple[_Convert, ...]


class Rows:
    """What a statement returned: its rows (converted) and how many rows it changed."""

    def __init__(self, rows: list[tuple[Any, ...]], columns: Sequence[str], rowcount: int):
        self.rows = rows
        self.columns = tuple(columns)
        self.rowcount = rowcount

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def one(self) -> tuple[Any, ...]:
        if len(self.rows) != 1:
            raise ValueError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def one_or_none(self) -> tuple[Any, ...] | None:
        if len(self.rows) > 1:
            raise ValueError(f"expected at most one row, got {len(self.rows)}")
        return self.rows[0] if self.rows else None

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]


def execute(conn: Connection, statement: Executable, params: Params = None) -> Rows:
    """Run ``statement`` on ``conn``, on the driver's cursor when it can."""
    many = params is not None and not isinstance(params, Mapping)
    rows: Sequence[Mapping[str, Any]] = (
        list(params) if many else [params or {}]  # type: ignore[list-item, arg-type]
    )
    prepared = None
    if rows and (conn.in_transaction() or _autocommit(conn)):
        prepared = _prepare(statement, frozenset(rows[0]), conn.dialect)
    if prepared is None or (many and prepared.keys is not None):
        result = conn.execute(statement, params)
        found = [tuple(row) for row in result] if result.returns_rows else []
        return Rows(found, list(result.keys()) if result.returns_rows else [], result.rowcount)
    values = [_parameters(prepared, row) for row in rows]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        return _run(conn, cursor, prepared, values, many)
    except conn.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution handles it: callers tell a busy database, a broken
        # constraint or a dead connection (invalidated, with the pool) by SQLAlchemy's
        # classes.  No parameters in the error: they hold emails and bodies.
        conn._handle_dbapi_exception(exc, prepared.sql, None, cursor, None)
    finally:
        cursor.close()


def _autocommit(conn: Connection) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def _run(
    conn: Connection,
    cursor: Any,
    prepared: _Prepared,
    values: list[Any],  # each row's parameters: a tuple for SQLite, a dict for psycopg
    many: bool,
) -> Rows:
    given: Any = values if many else values[0]
    conn.dispatch.before_cursor_execute(conn, cursor, prepared.sql, given, None, many)
    if many:
        cursor.executemany(prepared.sql, values)
        found: list[tuple[Any, ...]] = []
    else:
        cursor.execute(prepared.sql, values[0])
        # psycopg refuses to fetch from a statement that returns no rows; SQLite gives none.
        rows = cursor.fetchall() if cursor.description is not None else ()
        found = [_converted(prepared, row) for row in rows]
    # Read after the rows are fetched: SQLite counts a RETURNING statement's rows as it steps.
    rowcount = cursor.rowcount
    conn.dispatch.after_cursor_execute(conn, cursor, prepared.sql, given, None, many)
    return Rows(found, prepared.columns, rowcount)


def _parameters(prepared: _Prepared, row: Mapping[str, Any]) -> Any:
    out = []
    for bind in prepared.binds:
        value = row[bind.name] if bind.given else bind.value
        out.append(bind.convert(value) if bind.convert is not None and value is not None else value)
    return tuple(out) if prepared.keys is None else dict(zip(prepared.keys, out, strict=True))


def _converted(prepared: _Prepared, row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        convert(value) if convert is not None else value
        for convert, value in zip(prepared.results, row, strict=True)
    )


@lru_cache(maxsize=256)
def _prepare(statement: Executable, keys: frozenset[str], dialect: Dialect) -> _Prepared | None:
    # column_keys: the columns an UPDATE's SET or an INSERT's VALUES take from the parameters.
    compile_: Any = getattr(statement, "compile", None)
    if compile_ is None:
        return None
    compiled: Any = compile_(dialect=dialect, column_keys=sorted(keys))
    named = compiled.positiontup is None  # psycopg's %(name)s
    names = list(compiled.bind_names.values()) if named else compiled.positiontup
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            return None  # rendered at execution: SQLAlchemy's to do
        given = name in keys
        if not given and (bind.required or bind.callable is not None):
            return None
        type_ = bind.type.dialect_impl(dialect)
        binds.append(_Bind(name, given, bind.value, type_.bind_processor(dialect)))
    columns, results = [], []
    for column in compiled._result_columns:  # (key, name, objects, type), in select order
        columns.append(column[0])
        results.append(column[3].dialect_impl(dialect).result_processor(dialect, None))
    # A name the SQL could not hold as it is was escaped there (SQLAlchemy's own rule).
    escaped = compiled.escaped_bind_names
    in_sql = tuple(escaped.get(name, name) for name in names) if named else None
    return _Prepared(str(compiled), tuple(binds), in_sql, tuple(columns), tuple(results))
