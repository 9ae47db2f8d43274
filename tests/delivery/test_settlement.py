"""Settling a job: the run's writes land with it while the worker owns the job, never after.

On PostgreSQL the settlement and its writes are one statement (``settle_statements.py``);
these tests hold its semantics to the one-by-one path SQLite keeps.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.engine import Engine

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.attempts import attempts_write
from bridge.store.deliveries import DeliveryStore
from bridge.store.events import event_write
from bridge.store.queue import ClaimedJob, Write
from bridge.store.settle_statements import fold
from bridge.store.states import DeliveryState, EventState
from bridge.store.tables import events, jobs
from bridge.worker import Worker
from tests.delivery.harness import Bench, make_bench


def _count_statements(engine: Engine) -> Counter[str]:
    """Statements the engine sends from now on by their first two words, as
    ``bench/count_statements.py`` counts them (``BEGIN``, ``COMMIT`` and ``ROLLBACK`` too,
    when the driver sends them: in autocommit it sends none)."""
    counts: Counter[str] = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        counts[" ".join(statement.split()[:2])] += 1

    def _sent(conn: Any, name: str) -> None:
        # psycopg's autocommit is a bool; sqlite3's is -1 unless set (its legacy mode).
        if getattr(conn.connection.dbapi_connection, "autocommit", False) is not True:
            counts[name] += 1

    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, lambda conn, name=name: _sent(conn, name.upper()))
    return counts


def _taken_from(bench: Bench) -> tuple[str, Worker, ClaimedJob, Worker, ClaimedJob]:
    """An event whose job ``slow`` claimed, then ``fast`` after ``slow``'s lease ran out."""
    event_id = bench.submit()
    slow, fast = bench.worker(), bench.worker()
    (held,) = slow.queue.claim(slow.worker_id, limit=1, lease_seconds=10, now=bench.clock())
    bench.clock.advance(11)
    (taken,) = fast.queue.claim(fast.worker_id, limit=1, lease_seconds=10, now=bench.clock())
    return event_id, slow, held, fast, taken


def _run_writes(bench: Bench, event_id: str, job_id: int) -> list[Write]:
    """What a successful run commits with its job: a delivery done, the event's state, two calls."""
    store = DeliveryStore(bench.engine)
    record = store.get_or_new(event_id, "company-task")
    if record.id is None:
        store.update(record, bench.clock())  # stored pending, as before a task is created
    now = bench.clock()
    call = {"job_id": job_id, "event_id": event_id, "started_at": now, "call": "crm.x"}
    calls = [
        {**call, "status": None, "duration_ms": 5, "error": "connection reset"},
        {**call, "status": 200, "duration_ms": 7, "error": None},
    ]
    return [
        store.done(record, 41, now),
        event_write(event_id, EventState.DONE, None, now, "digest-1"),
        *attempts_write(calls),
    ]


def _state(bench: Bench, event_id: str) -> dict[str, Any]:
    (event_row,) = bench.rows(
        "SELECT state, last_error, rules_digest, updated_at FROM events WHERE id = :e", e=event_id
    )
    return {
        "event": dict(event_row),
        "deliveries": [
            dict(row)
            for row in bench.rows(
                "SELECT state, task_id, task_status FROM deliveries WHERE event_id = :e", e=event_id
            )
        ],
        "attempts": bench.rows("SELECT count(*) AS n FROM attempts")[0]["n"],
        "job": dict(bench.job(event_id)),
    }


def test_a_settlement_after_the_lease_was_taken_writes_nothing(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id, slow, held, fast, taken = _taken_from(bench)
    writes = _run_writes(bench, event_id, held.id)
    before = _state(bench, event_id)

    counts = _count_statements(bench.engine)
    assert not slow.queue.complete(held.id, slow.worker_id, now=bench.clock(), also=writes)
    sent = dict(counts)
    assert _state(bench, event_id) == before  # not the job, nor any of its writes
    if bench.engine.dialect.name == "postgresql":
        # One statement, not the job's update and then the writes (which would not have run),
        # in autocommit: no BEGIN or COMMIT of its own.
        assert sent == {"WITH settled": 1}

    assert not slow.queue.retry(
        held.id, slow.worker_id, run_at=bench.clock(), error="x", now=bench.clock(), also=writes
    )
    assert _state(bench, event_id) == before

    assert fast.queue.complete(taken.id, fast.worker_id, now=bench.clock(), also=writes)
    after = _state(bench, event_id)
    assert after["event"]["state"] == EventState.DONE
    assert after["event"]["rules_digest"] == "digest-1"
    assert after["deliveries"] == [{"state": DeliveryState.DONE, "task_id": 41, "task_status": 0}]
    assert after["attempts"] == 2
    assert (after["job"]["state"], after["job"]["lease_owner"]) == ("done", None)
    assert after["job"]["attempts"] == 1


def test_writes_that_depend_on_each_other_still_apply_in_order(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    # A dying run writes the event twice (its own failure, then the worker's reason); one
    # statement would apply only one of two updates of a row, so this shape runs one by one.
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id, _slow, _held, fast, taken = _taken_from(bench)
    now = bench.clock()
    writes = [
        *_run_writes(bench, event_id, taken.id),
        event_write(event_id, EventState.FAILED, "rule x: refused", now, "digest-2"),
        event_write(event_id, EventState.DEAD, "gave up", now + timedelta(seconds=1)),
    ]
    counts = _count_statements(bench.engine)
    assert fast.queue.kill(taken.id, fast.worker_id, error="gave up", now=now, also=writes)
    sent = dict(counts)
    after = _state(bench, event_id)
    assert (after["event"]["state"], after["event"]["last_error"]) == (EventState.DEAD, "gave up")
    assert after["event"]["rules_digest"] == "digest-1"  # the first write's: set once
    assert after["job"]["state"] == "dead"
    assert after["attempts"] == 2
    if bench.engine.dialect.name == "postgresql":
        assert "WITH settled" not in sent and sent["UPDATE events"] == 3


# Each commit that changes a job, with the job's new state and ``synchronous_commit`` as
# PostgreSQL commits it: a deferred constraint trigger runs inside the commit, so it sees
# the setting a statement in autocommit relaxed for its own transaction.
_RECORD_JOB_COMMITS = """
CREATE TABLE job_commits (n serial PRIMARY KEY, state text, setting text);
CREATE FUNCTION record_job_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_commits (state, setting)
    VALUES (NEW.state, current_setting('synchronous_commit'));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER job_commit AFTER UPDATE ON jobs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_job_commit();
"""


def _job_commits(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT state, setting FROM job_commits ORDER BY n")
        return [(state, setting) for state, setting in rows]


def test_statements_per_job_on_postgresql(
    tmp_path: Path, sandbox: SandboxServer, postgres_url: str
) -> None:
    # Each statement is a round trip: what bench/count_statements.py measures, held here.
    bench = make_bench(tmp_path, sandbox, postgres_url)
    for n in range(4):
        bench.submit(n)
    worker = bench.worker()
    assert worker.run_pending(1) == 1  # the first job also stores the rules it ran with
    with bench.engine.begin() as conn:
        conn.exec_driver_sql(_RECORD_JOB_COMMITS)
    counts = _count_statements(bench.engine)
    assert worker.run_pending(3) == 3
    # A new runner finds the rules stored, once: a read, which commits (store.db.reading).
    runner = Counter({"BEGIN": 1, "SELECT rule_sets.digest": 1, "COMMIT": 1})
    # Each of a job's three writes is one statement in autocommit: no BEGIN, no COMMIT.
    assert counts - runner == {
        "WITH claimed": 3,
        "WITH renewed": 3,  # the lease's renewal and the creating_task row
        "WITH settled": 3,  # the job, the delivery, the event, the attempt
    }
    assert counts["BEGIN"] == counts["COMMIT"] == 1  # the runner's read only
    assert len(bench.listing("tasks")) == 4
    # Only the creating_task write waits for the disk: the claim and the settlement relax
    # their own commits (no SET LOCAL sent), the lease's renewal commits with that write.
    job = [("running", "off"), ("running", "on"), ("done", "off")]
    assert _job_commits(bench.engine) == job * 3


def test_only_updates_that_read_their_own_row_are_folded() -> None:
    # One statement's CTEs all see the database as it was before it: an update that read
    # another row (a subquery, another table's column) could miss what a sibling CTE wrote.
    settle = update(jobs).where(jobs.c.id == bindparam("job")).values(state="done")
    own = update(events).where(events.c.id == bindparam("eid"))
    plain = own.values(
        state=bindparam("state"),
        rules_digest=func.coalesce(events.c.rules_digest, bindparam("digest")),
    )
    assert fold(settle, {"job": 1}, [(plain, {"eid": "ev_1", "state": "done", "digest": "d"})])
    last_job_error = select(jobs.c.last_error).where(jobs.c.id == 1).scalar_subquery()
    other_events = select(func.count()).select_from(events).scalar_subquery()
    for reads_more in (
        own.values(last_error=last_job_error),  # a subquery of another table
        own.values(last_error=func.concat(jobs.c.last_error, "")),  # another table's column
        own.values(kind=other_events),  # a subquery of its own table: other rows
    ):
        assert fold(settle, {"job": 1}, [(reads_more, {"eid": "ev_1"})]) is None
