"""The worker's statements on SQLite's cursor store and return exactly what SQLAlchemy's would.

Each statement of a job (the claim's three, the ``creating_task`` write's two, the
settlement's four) runs twice on the same database, in a transaction rolled back after: once
through SQLAlchemy's execution, once through ``driver_statements.execute``.  The rows each
returns, the rows it reports changed and every table as stored (read raw, so datetimes and
JSON are compared as SQLite holds them) must be the same.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Executable, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bridge.ivvy.sandbox import SandboxServer
from bridge.store import driver_statements, queue
from bridge.store.claim_statements import EVENT_DELIVERIES, START_EVENT, claim_statement
from bridge.store.deliveries import DeliveryStore, _insert, _row
from bridge.store.events import event_write
from bridge.store.states import DeliveryState, EventState, JobState
from bridge.store.tables import attempts
from tests.delivery.harness import Bench, make_bench

TABLES = ("events", "jobs", "deliveries", "attempts")


# The rows changed are compared for statements without RETURNING, the only ones whose count
# the worker reads: SQLAlchemy reads SQLite's count before fetching RETURNING's rows, when it
# is still 0.
def _through_sqlalchemy(conn: Connection, statement: Executable, params: Any) -> tuple[Any, ...]:
    result = conn.execute(statement, params)
    if result.returns_rows:
        return [tuple(row) for row in result], None
    return [], result.rowcount


def _through_driver(conn: Connection, statement: Executable, params: Any) -> tuple[Any, ...]:
    found = driver_statements.execute(conn, statement, params)
    return found.rows, None if found.columns else found.rowcount


def _both(engine: Engine, statement: Executable, params: Any) -> tuple[Any, ...]:
    """What each way returned and left stored; asserts they are the same."""
    seen = []
    for run in (_through_sqlalchemy, _through_driver):
        with engine.connect() as conn:
            transaction = conn.begin()
            returned = run(conn, statement, params)
            stored = {
                table: conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1").all()
                for table in TABLES
            }
            transaction.rollback()
        seen.append((returned, stored))
    assert seen[0] == seen[1]
    return seen[0][0]


def _ran_once(bench: Bench) -> dict[str, Any]:
    """An event run to the end by a real worker: its stored attempt row, as SQLAlchemy reads it."""
    bench.submit(1)
    assert bench.worker().run_pending(1) == 1
    with bench.engine.connect() as conn:
        row = conn.execute(select(attempts)).mappings().one()
    return {key: value for key, value in row.items() if key != "id"}


def test_each_statement_of_a_job_as_sqlalchemy_runs_it(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, sqlite_url)
    attempt = _ran_once(bench)
    event_id = bench.submit(2)
    engine, now = bench.engine, bench.clock()
    owner = {"p_now": now, "p_owner": "w", "p_expires": now + timedelta(seconds=30)}

    (claimed,), _ = _both(engine, claim_statement(1), owner)
    assert claimed[1] == event_id
    (job,) = queue.Queue(engine).claim("w", limit=1, lease_seconds=30, now=now)
    (started,), _ = _both(engine, START_EVENT, {"p_event_id": event_id, "p_now": now})
    assert started[1] is None and isinstance(started[0], dict | type(None))

    store = DeliveryStore(engine)
    record = store.get_or_new(event_id, "company-task", {})
    task = {"name": "Call back", "dueDate": "2026-12-08", "status": 0}
    values = {"state": DeliveryState.CREATING_TASK, "task": task, "owner_kind": "company"}
    lease = queue.Lease(job.id, "w", 30)
    assert _both(engine, queue._RENEW, lease.renewal(now))[1] == 1
    ((row_id,),), _ = _both(engine, _insert("sqlite"), _row(record, now, values))
    store.update(record, now, lease=lease, **values)
    assert record.id == row_id

    known, _ = _both(engine, EVENT_DELIVERIES, {"p_event_id": event_id})
    assert [row[0] for row in known] == [record.id]
    settle = {
        "p_job_id": job.id,
        "p_owner": "w",
        "p_state": JobState.DONE,
        "p_finished_at": now,
        "p_run_at": None,
        "p_error": None,
    }
    assert _both(engine, queue._SETTLE, settle)[1] == 1
    for statement, params in (
        store.done(record, 4242, now),
        event_write(event_id, EventState.DONE, None, now, "digest"),
        (attempts.insert(), [{**attempt, "job_id": job.id, "event_id": event_id}] * 2),
    ):
        _both(engine, statement, params)


def test_a_broken_constraint_is_sqlalchemys_integrity_error(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, sqlite_url)
    attempt = _ran_once(bench)
    with bench.engine.connect() as conn, conn.begin(), pytest.raises(IntegrityError) as raised:
        driver_statements.execute(conn, attempts.insert(), {**attempt, "job_id": None})
    assert "NOT NULL" in str(raised.value.orig)
