"""The claim reads what the run needs (the event, its delivery rows): a job is three transactions.

Reading the deliveries at the claim rather than just before each one is used can only make the
reading older; these tests show that an older reading still creates exactly one task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.states import DeliveryState
from tests.delivery.harness import make_bench


def _record_transactions(engine: Any) -> list[list[str]]:
    """The statements of each transaction the engine begins from now on, in order."""
    transactions: list[list[str]] = []

    @event.listens_for(engine, "begin")
    def _begin(_conn: Any) -> None:
        transactions.append([])

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if not conn.in_transaction():  # in autocommit on the driver's cursor: one of its own
            transactions.append([])
        if not statement.startswith("SET LOCAL"):  # PostgreSQL's, sent from the begin hook
            transactions[-1].append(" ".join(statement.split()))

    return transactions


def _is_claim(statement: str) -> bool:
    return statement.startswith(("UPDATE jobs", "WITH claimed AS")) and "jobs.claims +" in statement


def test_a_job_is_three_transactions_claim_creating_task_and_settlement(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    for n in range(3):
        bench.submit(n)
    transactions = _record_transactions(bench.engine)
    assert bench.worker().run_pending() == 3
    # Per job: the claim (with the delivery read), creating_task, the settlement.  Besides:
    # the thread's first job stores the rules it ran with (a read, an insert), and the last
    # claim finds nothing.
    assert len(transactions) == 2 + 3 * 3 + 1
    claims = [t for t in transactions if _is_claim(t[0])]
    assert len(claims) == 4
    reading = [t for t in transactions if any("FROM deliveries" in s for s in t)]
    assert reading == claims[: len(reading)] and len(reading) >= 3  # only claims read them
    assert len(bench.listing("tasks")) == 3


def test_the_claim_reads_the_events_deliveries(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    queue = bench.worker().queue
    (first,) = queue.claim("a", limit=1, lease_seconds=10, now=bench.clock())
    assert first.deliveries == {}  # a first run: no rows yet
    assert queue.release(first.id, "a", now=bench.clock())

    bench.drop_call(1)  # the task is created, its answer lost: the row stays creating_task
    assert bench.worker().run_pending() == 1
    bench.clear_faults()
    bench.clock.set(bench.job(event_id)["run_at"])
    (again,) = queue.claim("b", limit=1, lease_seconds=10, now=bench.clock())
    assert again.deliveries is not None
    (row,) = again.deliveries.values()
    assert (row["rule"], row["state"]) == ("company-task", DeliveryState.CREATING_TASK)
    assert row["task"]["description"].endswith(row["marker"])


def test_a_stalled_worker_with_an_old_reading_sends_nothing(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    # The stalled worker's claim read no delivery row; by the time it runs, the job's next
    # owner has created the task and settled.  The old reading must not create a second one.
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    slow, fast = bench.worker(), bench.worker()
    (held,) = slow.queue.claim(slow.worker_id, limit=1, lease_seconds=60, now=bench.clock())
    assert held.deliveries == {}
    bench.clock.advance(61)
    (taken,) = fast.queue.claim(fast.worker_id, limit=1, lease_seconds=60, now=bench.clock())
    assert fast.process(taken, fast.slot()).outcome == "done"

    assert slow.process(held, slow.slot()).outcome == "lost"
    assert len(bench.listing("tasks")) == 1
    assert len(bench.calls("addOrUpdateTask")) == 1
    (row,) = bench.rows("SELECT state FROM deliveries WHERE event_id = :e", e=event_id)
    assert row["state"] == DeliveryState.DONE
    assert bench.job(event_id)["state"] == "done"
