"""A delivery's first fenced write: the row is stored only while the worker holds the job.

On PostgreSQL the lease's renewal and the row's insert are one statement in autocommit
(``DeliveryStore._insert_if_renewed``); on SQLite they are two in one transaction.  Both must
give the same answers: the row stored and the lease extended, ``LeaseLost`` with nothing
written, or ``DeliveryConflict`` with the other run's row left as it was.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.deliveries import DeliveryConflict, DeliveryStore
from bridge.store.queue import Lease, LeaseLost
from bridge.store.states import DeliveryState
from tests.delivery.harness import Bench, make_bench

TASK = {"name": "Call back", "status": 0}


def _claimed(bench: Bench, owner: str) -> tuple[str, Lease]:
    event_id = bench.submit()
    worker = bench.worker()
    (job,) = worker.queue.claim(owner, limit=1, lease_seconds=30, now=bench.clock())
    return event_id, Lease(job.id, owner, 30)


def _deliveries(bench: Bench, event_id: str) -> list[tuple[str, str, object]]:
    """The event's delivery rows as stored: rule, state and task."""
    rows = bench.rows("SELECT rule FROM deliveries WHERE event_id = :e ORDER BY id", e=event_id)
    stored = [DeliveryStore(bench.engine).get_or_new(event_id, row["rule"]) for row in rows]
    return [(found.rule, found.state, found.task) for found in stored]


def test_the_row_is_stored_and_the_lease_extended(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id, lease = _claimed(bench, "a")
    store = DeliveryStore(bench.engine)
    record = store.get_or_new(event_id, "company-task", {})
    bench.clock.advance(20)
    store.update(record, bench.clock(), lease=lease, state=DeliveryState.CREATING_TASK, task=TASK)

    assert record.id is not None and record.state == DeliveryState.CREATING_TASK
    assert _deliveries(bench, event_id) == [("company-task", DeliveryState.CREATING_TASK, TASK)]
    (row,) = bench.rows("SELECT id FROM deliveries WHERE event_id = :e", e=event_id)
    assert row["id"] == record.id
    expires = bench.job(event_id)["lease_expires_at"].replace(tzinfo=None)
    assert expires == (bench.clock() + timedelta(seconds=30)).replace(tzinfo=None)


def test_a_lost_lease_stores_nothing(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id, lease = _claimed(bench, "a")
    bench.clock.advance(31)  # the lease ran out, and another worker took the job
    (taken,) = bench.worker().queue.claim("b", limit=1, lease_seconds=30, now=bench.clock())
    job_before = dict(bench.job(event_id))
    store = DeliveryStore(bench.engine)
    record = store.get_or_new(event_id, "company-task", {})

    with pytest.raises(LeaseLost):
        store.update(record, bench.clock(), lease=lease, state=DeliveryState.CREATING_TASK)
    assert record.id is None
    assert _deliveries(bench, event_id) == []
    assert dict(bench.job(event_id)) == job_before  # b's lease untouched
    assert taken.id == lease.job_id


def test_a_row_another_run_stored_is_a_conflict_and_stays_as_it_was(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id, lease = _claimed(bench, "a")
    store = DeliveryStore(bench.engine)
    ours = store.get_or_new(event_id, "company-task", {})  # read before the other run wrote
    theirs = store.get_or_new(event_id, "company-task", {})
    store.update(theirs, bench.clock(), state=DeliveryState.CREATING_TASK, task=TASK)

    with pytest.raises(DeliveryConflict):
        store.update(
            ours, bench.clock(), lease=lease, state=DeliveryState.CREATING_TASK, task={"x": 1}
        )
    assert ours.id is None
    assert _deliveries(bench, event_id) == [("company-task", DeliveryState.CREATING_TASK, TASK)]
