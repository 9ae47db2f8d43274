"""Task actions under real worker processes: two events for one key at once end with one open
task, and a worker killed while its update is in flight leaves the change applied once."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bridge.events import Event
from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from bridge.store.inbox import accept
from tests.faults.support import (
    PAST,
    calls,
    job_states,
    process_env,
    rows,
    set_faults,
    wait_until,
    write_fault_config,
)
from tests.support.processes import BridgeProcess

RULES = """
  - name: call-back
    on: {source: website, kind: form}
    company: {id: 1}
    task:
      name: "Call {{ first_name }} back"
      due: "+1 day at 09:00"
      key: "{{ email }}"
      update_open: {append: "Asked again: {{ message }}"}
  - name: moved
    on: {source: website, kind: moved}
    update:
      tasks_of: call-back
      key: "{{ email }}"
      append: "Moved: {{ message }}"
"""


def enqueue(engine, kind: str, n: int, message: str) -> str:
    now = datetime.now(UTC)
    event = Event(
        source="website",
        source_type="form",
        kind=kind,
        external_id=f"{kind}-{n}",
        received_at=now,
        fields={"first_name": "Ana", "email": "ana@example.org", "message": message},
    )
    accepted = accept(
        engine, event, f"{kind}-{n}", headers={}, body=b"{}",
        content_type="application/json", now=now,
    )  # fmt: skip
    return accepted.event_id


def tasks(sandbox: SandboxServer) -> list[dict]:
    import requests

    return requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=30).json()


def test_concurrent_events_for_one_key_end_with_one_open_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url, rules=RULES), database_url)
    engine = build_engine(database_url)
    events = [enqueue(engine, "form", n, f"message {n}") for n in range(8)]
    set_faults(sandbox.url, latency_ms=200)  # every call in flight while others decide
    workers = [
        BridgeProcess(["worker", "--concurrency", "4"], env, tmp_path / f"worker{i}.log")
        for i in range(2)
    ]
    try:
        wait_until(lambda: job_states(engine)["done"] == 8, 90, "every job done")
    finally:
        for worker in workers:
            assert worker.stop() == 0, worker.output()
    (task,) = tasks(sandbox)
    states = rows(engine, "SELECT state, task_id FROM deliveries ORDER BY id")
    assert sorted(r["state"] for r in states) == ["acted"] * 7 + ["done"]
    assert {r["task_id"] for r in states} == {task["id"]}
    lines = task["description"].splitlines()
    for n in range(8):  # every other event's line appended exactly once
        assert sum(line.startswith(f"Asked again: message {n} ") for line in lines) <= 1
    assert sum(line.startswith("Asked again:") for line in lines) == 7
    (key,) = rows(engine, "SELECT delivery_id FROM task_keys")
    (holder,) = [
        r for r in rows(engine, "SELECT id, state FROM deliveries") if r["state"] == "done"
    ]
    assert key["delivery_id"] == holder["id"]
    assert len(events) == 8
    engine.dispose()


def test_a_worker_killed_during_an_update_applies_it_once(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url, rules=RULES), database_url)
    engine = build_engine(database_url)
    enqueue(engine, "form", 0, "hello")
    first = BridgeProcess(["worker"], env, tmp_path / "first.log")
    try:
        wait_until(lambda: job_states(engine)["done"] == 1, 30, "the task created")
    finally:
        assert first.stop() == 0, first.output()

    moved = enqueue(engine, "moved", 1, "to Friday")
    # The update is in flight when the worker dies (within the 1 s read timeout of this config).
    set_faults(sandbox.url, latency_ms=800)
    doomed = BridgeProcess(["worker"], env, tmp_path / "doomed.log")
    try:
        wait_until(
            lambda: rows(engine, "SELECT id FROM task_actions WHERE state = 'sending'"),
            30,
            "the update's body stored and sent",
            interval=0.02,
        )
        # The body is stored just before the request leaves; give it time to reach the sandbox,
        # which holds it 800 ms before acting on it.
        time.sleep(0.3)
        doomed.signal(signal.SIGKILL)
        doomed.process.wait(10)
    finally:
        doomed.stop()
    # iVvy acts on the request it received (within the lease, as the fence assumes).
    wait_until(lambda: len(calls(sandbox.url, "addOrUpdateTask")) == 2, 30, "the update made")
    set_faults(sandbox.url, latency_ms=0)
    with engine.begin() as conn:  # the lease would run out by itself; the test does not wait
        conn.execute(
            text("UPDATE jobs SET lease_expires_at = :past WHERE state = 'running'"),
            {"past": PAST},
        )
    survivor = BridgeProcess(["worker"], env, tmp_path / "survivor.log")
    try:
        wait_until(lambda: job_states(engine)["done"] == 2, 60, "the update's job done")
    finally:
        assert survivor.stop() == 0, survivor.output()
    (task,) = tasks(sandbox)
    assert task["description"].count("Moved: to Friday") == 1
    assert len(calls(sandbox.url, "addOrUpdateTask")) == 2  # read again, found applied
    (action,) = rows(engine, "SELECT state FROM task_actions WHERE event_id = :e", e=moved)
    assert action["state"] == "done"
    (job,) = rows(engine, "SELECT claims FROM jobs WHERE event_id = :e", e=moved)
    assert job["claims"] == 2
    engine.dispose()
