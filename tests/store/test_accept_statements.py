"""The accept's prepared writes store what SQLAlchemy's own inserts would, in one commit.

``store/accept_statements.py`` bypasses SQLAlchemy's execution of each insert (SQLite: the
driver's cursor; PostgreSQL: one statement of three CTEs in autocommit).  These tests hold
it to the rows a plain ``insert(table)`` stores, value for value as each database keeps it,
and to the one transaction that makes a webhook's 202 mean all three rows or none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine

from bridge.events import Event
from bridge.store.accept_statements import write_accepted
from bridge.store.db import build_engine
from bridge.store.inbox import accept
from bridge.store.tables import dedupe_keys, events, jobs

NOW = datetime(2026, 12, 6, 20, 30, 1, 234567, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url, timeout_seconds=10)
    yield engine
    engine.dispose()


def rows_for(event_id: str, key: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (
        dict(source="website", key=key, event_id=event_id, created_at=NOW),
        dict(
            id=event_id,
            source="website",
            source_type="json",
            kind="form.submitted",
            external_id="ext-1",
            dedupe_key=key,
            email="ana@example.org",
            received_at=NOW,
            updated_at=NOW,
            state="received",
            content_type="application/json",
            # Non-ASCII, nesting and a key needing escapes: the JSON encoding must match too.
            headers={"content-type": "application/json", "x-note": 'café "quoted"'},
            body=b'{"name": "Ana", "bytes": "\\u00e9"}\x00\xff',
            event={"source": "website", "fields": {"name": "Zoë", "n": [1, 2.5, None]}},
        ),
        dict(
            event_id=event_id,
            state="ready",
            run_at=NOW,
            created_at=NOW,
            attempts=0,
            claims=0,
            rules_digest=None,
        ),
    )


def stored(engine: Engine, table: str, where: str, value: str) -> dict[str, Any]:
    """A row as the database keeps it: SQLite's storage class and value, PostgreSQL's text."""
    with engine.connect() as conn:
        names = [
            row[0] if engine.dialect.name == "postgresql" else row[1]
            for row in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
                    if engine.dialect.name == "postgresql"
                    else f"PRAGMA table_info({table})"
                ),
                {"t": table},
            )
        ]
        shown = [f"{n}::text" if engine.dialect.name == "postgresql" else n for n in names]
        kinds = ", ".join(f"typeof({n})" for n in names) if engine.dialect.name == "sqlite" else ""
        columns = ", ".join(shown + ([kinds] if kinds else []))
        row = conn.execute(text(f"SELECT {columns} FROM {table} WHERE {where} = :v"), {"v": value})
        values = list(row.one())
    result = dict(zip(names, values, strict=False))
    if engine.dialect.name == "sqlite":
        result.update({f"typeof({n})": v for n, v in zip(names, values[len(names) :], strict=True)})
    return result


def test_the_rows_are_stored_as_sqlalchemys_own_inserts_store_them(engine: Engine) -> None:
    mine = rows_for("ev_prepared", "key-prepared")
    theirs = rows_for("ev_core", "key-core")
    write_accepted(engine, *mine)
    with engine.begin() as conn:
        for table, row in zip((dedupe_keys, events, jobs), theirs, strict=True):
            conn.execute(insert(table), row)

    differ = {"id", "event_id", "key", "dedupe_key"}
    for table, column, pair in (
        ("dedupe_keys", "event_id", ("ev_prepared", "ev_core")),
        ("events", "id", ("ev_prepared", "ev_core")),
        ("jobs", "event_id", ("ev_prepared", "ev_core")),
    ):
        a, b = (stored(engine, table, column, value) for value in pair)
        same = {name: value for name, value in a.items() if name not in differ}
        assert same == {name: value for name, value in b.items() if name not in differ}, table
    # And the values read back through the tables' types are the ones given.
    with engine.connect() as conn:
        read = conn.execute(events.select().where(events.c.id == "ev_prepared")).one()._mapping
    assert read["received_at"] == NOW
    assert read["headers"] == mine[1]["headers"]
    assert read["event"] == mine[1]["event"]
    assert bytes(read["body"]) == mine[1]["body"]


def test_the_three_rows_are_one_transaction(engine: Engine) -> None:
    """SQLite: BEGIN IMMEDIATE, three inserts, COMMIT. PostgreSQL: one autocommitted statement."""
    if engine.dialect.name == "sqlite":
        traced: list[str] = []
        with engine.connect() as conn:  # the pool's one connection, traced from here on
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.set_trace_callback(traced.append)  # type: ignore[attr-defined]
        write_accepted(engine, *rows_for("ev_traced", "key-traced"))
        with engine.connect() as conn:
            conn.connection.dbapi_connection.set_trace_callback(None)  # type: ignore[union-attr]
        verbs = [s.split()[0].upper() for s in traced if not s.upper().startswith("PRAGMA")]
        assert verbs == ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"], traced
        return
    statements: list[str] = []
    caller = threading.get_ident()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == caller:  # not the notice sent after it (job_notices)
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        write_accepted(engine, *rows_for("ev_counted", "key-counted"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert statements[0].lstrip().upper().startswith("WITH")
    # A commit that notifies holds a database-wide lock until it is on disk.
    assert "pg_notify" not in statements[0]


def test_a_duplicate_key_stores_nothing_and_names_the_first_event(engine: Engine) -> None:
    ev = Event("website", "json", "form", None, NOW, fields={"email": "A@b.org"})
    first = accept(engine, ev, "same", headers={}, body=b"{}", content_type="", now=NOW)
    again = accept(engine, ev, "same", headers={}, body=b"{}", content_type="", now=NOW)
    assert not first.duplicate and again.duplicate
    assert again.event_id == first.event_id
    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("events", "dedupe_keys", "jobs")
        ]
        email = conn.execute(text("SELECT email FROM events")).scalar_one()
    assert counts == [1, 1, 1]
    assert email == "a@b.org"
