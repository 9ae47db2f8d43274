"""The worker's statements and PostgreSQL's accept, on the driver's cursor, store and return
exactly what SQLAlchemy's execution would.

Each statement of a job runs twice on the same database, in a transaction rolled back after:
once through SQLAlchemy's execution, once through ``driver_statements.execute``.  On both
databases: the claim's three statements, the ``creating_task`` write's two, the settlement's
four.  On PostgreSQL also the forms it runs each as one statement in autocommit (the claim
with its event, the renewal with the insert, the folded settlement) and the door's accept.
The rows each returns, their columns' names, the rows it reports changed and every table as
stored (read raw, so datetimes and JSON are compared as the database holds them) must be the
same.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Executable, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from bridge.ivvy.sandbox import SandboxServer
from bridge.store import driver_statements, queue
from bridge.store.accept_statements import JOB_COLUMNS, KEY_COLUMNS, _postgres_statement
from bridge.store.claim_statements import (
    EVENT_DELIVERIES,
    START_EVENT,
    claim_statement,
    claim_with_event_statement,
)
from bridge.store.db import build_engine, one_statement
from bridge.store.deliveries import DeliveryStore, _insert, _insert_if_renewed_statement, _row
from bridge.store.events import event_write
from bridge.store.settle_statements import fold
from bridge.store.states import DeliveryState, EventState, JobState
from bridge.store.tables import attempts, events
from tests.delivery.harness import Bench, make_bench
from tests.ingest.test_postgres_reconnects import admin_on, kill_others

TABLES = ("dedupe_keys", "events", "jobs", "deliveries", "attempts")
SERIAL = ("jobs", "deliveries", "attempts")  # tables whose id the database numbers


# The rows changed are compared for statements without RETURNING, the only ones whose count
# the worker reads: SQLAlchemy reads SQLite's count before fetching RETURNING's rows, when it
# is still 0.
def _through_sqlalchemy(conn: Connection, statement: Executable, params: Any) -> tuple[Any, ...]:
    result = conn.execute(statement, params)
    if result.returns_rows:
        return [tuple(row) for row in result], list(result.keys()), None
    return [], [], result.rowcount


def _through_driver(conn: Connection, statement: Executable, params: Any) -> tuple[Any, ...]:
    found = driver_statements.execute(conn, statement, params)
    return found.rows, list(found.columns), None if found.columns else found.rowcount


def _restart_numbering(conn: Connection) -> None:
    """PostgreSQL: a rolled-back insert still used up its id; both ways start from the same."""
    if conn.dialect.name != "postgresql":
        return
    for table in SERIAL:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" coalesce(max(id), 0) + 1, false) FROM {table}"
        )


def _both(engine: Engine, statement: Executable, params: Any) -> tuple[Any, ...]:
    """What each way returned and left stored; asserts they are the same."""
    seen = []
    for run in (_through_sqlalchemy, _through_driver):
        with engine.connect() as conn:
            transaction = conn.begin()
            _restart_numbering(conn)
            returned = run(conn, statement, params)
            stored = {
                table: conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2").all()
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


class _Ready(NamedTuple):
    """A database where one event ran to the end and a second waits, ready to claim."""

    bench: Bench
    attempt: dict[str, Any]  # the first event's stored attempt row, without its id
    event_id: str  # the second event's
    now: datetime
    owner: dict[str, Any]  # the claim's parameters, for worker "w"


def _ready(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> _Ready:
    bench = make_bench(tmp_path, sandbox, database_url)
    attempt = _ran_once(bench)
    event_id, now = bench.submit(2), bench.clock()
    return _Ready(bench, attempt, event_id, now, queue.claim_params("w", 30, now))


CREATING_TASK: dict[str, Any] = {
    "state": DeliveryState.CREATING_TASK,
    "task": {"name": "Call back", "dueDate": "2026-12-08", "status": 0},
    "owner_kind": "company",
}


def _settle(job_id: int, now: datetime) -> dict[str, Any]:
    """The job's settlement as done, by worker "w"."""
    return queue.settle_params(job_id, "w", JobState.DONE, now)


def _also(ready: _Ready, store: DeliveryStore, record: Any, job_id: int) -> list[Any]:
    """A done run's other writes: the delivery done, the event's state, two attempt rows."""
    rows = [{**ready.attempt, "job_id": job_id, "event_id": ready.event_id}] * 2
    return [
        store.done(record, 4242, ready.now),
        event_write(ready.event_id, EventState.DONE, None, ready.now, "digest"),
        (attempts.insert(), rows),
    ]


def test_each_statement_of_a_job_as_sqlalchemy_runs_it(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    ready = _ready(tmp_path, sandbox, database_url)
    engine, now, event_id = ready.bench.engine, ready.now, ready.event_id

    (claimed,), _, _ = _both(engine, claim_statement(1), ready.owner)
    assert claimed[1] == event_id
    (job,) = queue.Queue(engine).claim("w", limit=1, lease_seconds=30, now=now)
    (started,), _, _ = _both(engine, START_EVENT, {"p_event_id": event_id, "p_now": now})
    assert started[1] is None and isinstance(started[0], dict | type(None))

    store = DeliveryStore(engine)
    record = store.get_or_new(event_id, "company-task", {})
    lease = queue.Lease(job.id, "w", 30)
    assert _both(engine, queue._RENEW, lease.renewal(now))[2] == 1
    row = _row(record, now, CREATING_TASK)
    ((row_id,),), _, _ = _both(engine, _insert(engine.dialect.name), row)
    with engine.begin() as conn:
        _restart_numbering(conn)
    store.update(record, now, lease=lease, **CREATING_TASK)
    assert record.id == row_id

    known, _, _ = _both(engine, EVENT_DELIVERIES, {"p_event_id": event_id})
    assert [row[0] for row in known] == [record.id]
    assert _both(engine, queue._SETTLE, _settle(job.id, now))[2] == 1
    for statement, params in _also(ready, store, record, job.id):
        _both(engine, statement, params)


def _accepted(engine: Engine, event_id: str, copy_id: str, now: datetime) -> dict[str, Any]:
    """The door's parameters for a copy of a stored event: its key, event and job rows."""
    with engine.connect() as conn:
        event = dict(conn.execute(select(events).where(events.c.id == event_id)).mappings().one())
    event = {
        key: value for key, value in event.items() if key not in ("last_error", "rules_digest")
    }
    event.update(id=copy_id, dedupe_key=f"copy-of-{event_id}", state="received")
    key = dict(zip(KEY_COLUMNS, (event["source"], event["dedupe_key"], copy_id, now), strict=True))
    job = dict(zip(JOB_COLUMNS, (copy_id, JobState.READY, now, now, 0, 0, None), strict=True))
    params = {f"k_{name}": value for name, value in key.items()}
    params.update({f"e_{name}": value for name, value in event.items()})
    params.update({f"j_{name}": value for name, value in job.items()})
    return params


@pytest.mark.postgres
def test_postgres_one_statement_forms_as_sqlalchemy_runs_them(
    tmp_path: Path, sandbox: SandboxServer, postgres_url: str
) -> None:
    ready = _ready(tmp_path, sandbox, postgres_url)
    engine, now, event_id = ready.bench.engine, ready.now, ready.event_id

    claim = claim_with_event_statement(1, queue.MAX_CRASHES)
    rows, columns, _ = _both(engine, claim, ready.owner)
    (claimed,) = [dict(zip(columns, row, strict=True)) for row in rows]
    assert (claimed["event_id"], claimed["started"], claimed["relaxed"]) == (
        event_id,
        event_id,
        "off",
    )
    assert claimed["deliveries"] is None and isinstance(claimed["received_at"], datetime)
    (job,) = queue.Queue(engine).claim("w", limit=1, lease_seconds=30, now=now)
    assert job.event_id == event_id and job.request is not None

    store = DeliveryStore(engine)
    record = store.get_or_new(event_id, "company-task", {})
    lease = queue.Lease(job.id, "w", 30)
    row = _row(record, now, CREATING_TASK)
    params = {f"d_{key}": value for key, value in row.items()}
    params.update(lease.renewal(now))
    ((renewed, inserted),), _, _ = _both(engine, _insert_if_renewed_statement(tuple(row)), params)
    assert renewed == job.id and inserted is not None
    with engine.begin() as conn:
        _restart_numbering(conn)
    store.update(record, now, lease=lease, **CREATING_TASK)
    assert record.id == inserted

    folded = fold(queue._SETTLE, _settle(job.id, now), _also(ready, store, record, job.id))
    assert folded is not None
    assert _both(engine, *folded)[0] == [(job.id, "off")]

    assert _both(engine, _postgres_statement(), _accepted(engine, event_id, "c" * 32, now))[0] == [
        (True,)
    ]


@pytest.mark.postgres
def test_a_dead_connection_is_invalidated_with_the_pool(postgres_url: str) -> None:
    """As SQLAlchemy's execution does: flagged for the accept's one retry, the next is new."""
    engine = build_engine(postgres_url, idle_ping_seconds=3600)
    backend = select(func.pg_backend_pid())
    try:
        with one_statement(engine) as conn:
            (first,) = driver_statements.execute(conn, backend).one()
        with admin_on(postgres_url) as admin:
            assert kill_others(admin) >= 1
        with pytest.raises(DBAPIError) as raised, one_statement(engine) as conn:
            driver_statements.execute(conn, backend)
        assert raised.value.connection_invalidated
        with one_statement(engine) as conn:
            (second,) = driver_statements.execute(conn, backend).one()
        assert second != first
    finally:
        engine.dispose()


def test_a_broken_constraint_is_sqlalchemys_integrity_error(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    attempt = _ran_once(bench)
    with bench.engine.connect() as conn, conn.begin(), pytest.raises(IntegrityError) as raised:
        driver_statements.execute(conn, attempts.insert(), {**attempt, "job_id": None})
    message = str(raised.value.orig).lower()  # each database words it its own way
    assert "not null" in message.replace("-", " ") and "job_id" in message
