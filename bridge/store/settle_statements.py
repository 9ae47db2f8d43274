"""PostgreSQL: a job's settlement and the run's other writes (``also``) as one statement.

On SQLite the settlement is the job's fenced update, then each write in turn if it matched
(no round trips: the database is in the process).  On PostgreSQL, where every statement is
a round trip, they are one: the job's update is the data-modifying CTE ``settled``
(``RETURNING`` its id), each other write a CTE that writes only if ``settled`` has a row,
and the statement returns ``settled``'s id, or nothing when the worker no longer owns the job.
Its row also sets the transaction's ``synchronous_commit`` off (``db.RELAX_COMMIT``).

The CTEs all see the database as it was before the statement, and in no set order, so only
writes whose result cannot depend on each other are folded in (``fold`` says None to the rest,
which then run one by one as on SQLite):

- an ``UPDATE`` whose ``WHERE`` is ``primary key = :param``, each row at most once, reading
  nothing but its own row: no subquery, no other table's column (``_reads_own_row``);
- a plain ``INSERT`` (no values or options of its own) of one or more rows with the same keys;
- no table both inserted into and updated, and nothing of ``jobs`` (the settled row).

A normal run's writes are of these kinds: the deliveries done, the event's state, the attempt
rows.  The statement is built once per shape (which statements, which keys, how many rows),
like the claim's (``claim_statements.py``); each write's parameters are renamed ``a<n>_...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    Executable,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    insert,
    select,
    union_all,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, ColumnClause
from sqlalchemy.sql.selectable import Exists, ScalarSelect, SelectBase

from bridge.store.db import RELAX_COMMIT
from bridge.store.tables import jobs


class Part(NamedTuple):
    """One write of ``also``, as much of it as the statement is built from."""

    statement: Update | Insert
    keys: tuple[str, ...]  # update: the columns set from parameters; insert: the rows' keys
    rows: int = 1  # insert: how many rows


class _Kind(NamedTuple):
    """What a statement of ``also`` allows, worked out once per statement."""

    update: bool  # else a plain insert
    table: Table
    row_key: str  # update: the parameter that names the row
    binds: frozenset[str]  # update: its parameters (the others given are columns it sets)


Folded = tuple[Select[tuple[int, Any]], dict[str, Any]]


def fold(
    settle: Update, params: Mapping[str, Any], also: Sequence[tuple[Any, Any]]
) -> Folded | None:
    """The one statement for ``settle`` and ``also``, with its parameters; None if not foldable."""
    parts: list[Part] = []
    values = dict(params)
    updated: set[tuple[str, Any]] = set()  # (table, primary key): each row once
    kinds: dict[str, bool] = {}  # table: updated (True) or inserted into, never both
    for n, (statement, given) in enumerate(also):
        kind = _kind(statement)
        if kind is None or kinds.setdefault(kind.table.name, kind.update) != kind.update:
            return None
        prefix = f"a{n}_"
        rows = [given] if isinstance(given, Mapping) else list(given or ())
        keys = tuple(rows[0]) if rows else ()
        if not keys or any(tuple(row) != keys for row in rows):
            return None
        if kind.update:
            row = (kind.table.name, given.get(kind.row_key) if len(rows) == 1 else None)
            if row[1] is None or row in updated:
                return None
            updated.add(row)
            keys = tuple(key for key in keys if key not in kind.binds)
            values.update({prefix + key: value for key, value in given.items()})
        else:
            for r, row_values in enumerate(rows):
                values.update({f"{prefix}{r}_{key}": v for key, v in row_values.items()})
        if not all(key in kind.table.c for key in keys):
            return None
        parts.append(Part(statement, keys, len(rows)))
    return _statement(settle, tuple(parts)), values


@lru_cache(maxsize=64)
def _kind(statement: Executable) -> _Kind | None:
    if isinstance(statement, Update):
        table = cast(Table, statement.table)
        where = statement.whereclause
        keyed = (  # WHERE <primary key> = :param, nothing else: one row per parameter
            isinstance(where, BinaryExpression)
            and where.operator is operators.eq
            and isinstance(where.right, BindParameter)
            and any(where.left is column for column in table.primary_key)
        )
        if not keyed or table is jobs or not _reads_own_row(statement, table):
            return None
        binds = {e.key for e in visitors.iterate(statement) if isinstance(e, BindParameter)}
        return _Kind(
            True, table, str(cast(BinaryExpression[Any], where).right.key), frozenset(binds)
        )
    if isinstance(statement, Insert) and statement.compare(insert(statement.table)):
        return _Kind(False, cast(Table, statement.table), "", frozenset())
    return None


def _reads_own_row(statement: Update, table: Table) -> bool:
    """True when the update reads only the row it writes: its own table's columns, no query.

    A subquery (even of its own table) or another table's column could read a row another
    CTE of the same statement writes, and would see it as it was before the statement.
    """
    for element in visitors.iterate(statement):
        if isinstance(element, SelectBase | ScalarSelect | Exists):
            return False
        if isinstance(element, ColumnClause) and element.table not in (None, table):
            return False
    return True


@lru_cache(maxsize=256)
def _statement(settle: Update, parts: tuple[Part, ...]) -> Select[tuple[int, Any]]:
    settled = settle.returning(jobs.c.id).cte("settled")
    # PostgreSQL runs every data-modifying CTE to completion whether or not the main query
    # reads it; SQLAlchemy renders only what is referenced, hence add_cte.
    ctes = [_cte(part, f"a{n}", settled) for n, part in enumerate(parts)]
    # A row only if the job was settled, which then relaxes the commit (no SET LOCAL sent).
    return select(settled.c.id, RELAX_COMMIT).add_cte(*ctes)


def _cte(part: Part, name: str, settled: CTE) -> CTE:
    prefix, table = f"{name}_", cast(Table, part.statement.table)
    if isinstance(part.statement, Update):

        def renamed(element: Any, **_kw: Any) -> Any:
            if isinstance(element, BindParameter):
                return bindparam(prefix + element.key, type_=element.type)
            return None

        original = cast(visitors.ExternallyTraversible, part.statement)
        update_ = cast(Update, visitors.replacement_traverse(original, {}, renamed))
        sets = {key: bindparam(prefix + key, type_=table.c[key].type) for key in part.keys}
        if sets:
            update_ = update_.values(sets)
        # Written only if the job was: EXISTS reads the job's CTE, which also makes this one
        # wait for it.
        return update_.where(select(settled.c.id).exists()).cte(name)
    # One SELECT per row, from ``settled``: a row only if the job was settled.  Each
    # parameter has its column's type, which psycopg's dialect writes as ``::type`` (a UNION
    # of untyped parameters would take them for text).
    rows = [
        select(
            *(bindparam(f"{prefix}{r}_{key}", type_=table.c[key].type) for key in part.keys)
        ).select_from(settled)
        for r in range(part.rows)
    ]
    source = rows[0] if part.rows == 1 else union_all(*rows)
    return insert(table).from_select(part.keys, source).cte(name)
