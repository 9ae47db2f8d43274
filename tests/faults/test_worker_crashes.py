"""Workers killed with SIGKILL: their jobs come back after the lease, each task exists once,
and a job that kills its worker every time ends dead with a reason."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import text

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from bridge.store.queue import MAX_CRASHES
from tests.faults.support import (
    PAST,
    enqueue_events,
    job_states,
    process_env,
    rows,
    set_faults,
    tasks_per_event,
    wait_until,
    write_fault_config,
)
from tests.support.processes import BridgeProcess


def test_jobs_of_a_killed_worker_complete_exactly_once_after_the_lease(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    event_ids = enqueue_events(engine, 20)
    set_faults(sandbox.url, latency_ms=400)  # every call in flight for a while
    doomed = BridgeProcess(["worker", "--concurrency", "4"], env, tmp_path / "doomed.log")
    try:
        held = wait_until(
            lambda: (
                [r["id"] for r in rows(engine, "SELECT id FROM jobs WHERE state = 'running'")]
                if job_states(engine)["running"] == 4
                else None
            ),
            30,
            "the worker holding four jobs",
            interval=0.02,
        )
        doomed.signal(signal.SIGKILL)
        doomed.process.wait(10)
    finally:
        doomed.stop()
    assert doomed.process.returncode == -signal.SIGKILL

    survivor = BridgeProcess(["worker", "--concurrency", "4"], env, tmp_path / "survivor.log")
    try:
        wait_until(lambda: job_states(engine)["done"] == 20, 60, "every job done")
    finally:
        assert survivor.stop() == 0, survivor.output()
    per_event = tasks_per_event(sandbox.url)
    assert {event_id: per_event[event_id] for event_id in event_ids} == dict.fromkeys(event_ids, 1)
    assert sum(per_event.values()) == 20
    retaken = rows(engine, "SELECT id, claims FROM jobs WHERE claims > 1")
    assert sorted(r["id"] for r in retaken) == sorted(held)  # only the held ones came back
    assert rows(engine, "SELECT id FROM jobs WHERE lease_owner IS NOT NULL") == []
    engine.dispose()


def test_a_job_that_kills_its_worker_every_time_is_dead_with_a_reason(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    (poison,) = enqueue_events(engine, 1)
    set_faults(sandbox.url, latency_ms=5000)
    for crash in range(MAX_CRASHES):
        worker = BridgeProcess(
            ["worker", "--concurrency", "1"], env, tmp_path / f"crash{crash}.log"
        )
        try:
            wait_until(
                lambda n=crash + 1: rows(
                    engine, "SELECT id FROM jobs WHERE state = 'running' AND claims = :n", n=n
                ),
                30,
                "the job claimed",
                0.02,
            )
            worker.signal(signal.SIGKILL)  # the job "crashes" its worker
            worker.process.wait(10)
        finally:
            worker.stop()
        # The lease would run out by itself; the test does not wait for it.
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE jobs SET lease_expires_at = :past WHERE state = 'running'"),
                {"past": PAST},
            )
    set_faults(sandbox.url, latency_ms=0)
    others = enqueue_events(engine, 3, start=100)
    worker = BridgeProcess(["worker"], env, tmp_path / "last.log")
    try:
        wait_until(lambda: job_states(engine)["done"] == 3, 30, "the other jobs done")
        wait_until(lambda: job_states(engine)["dead"] == 1, 30, "the poison job dead")
    finally:
        assert worker.stop() == 0, worker.output()
    (job,) = rows(engine, "SELECT * FROM jobs WHERE event_id = :e", e=poison)
    assert job["state"] == "dead"
    assert job["last_error"].startswith(f"its worker stopped {MAX_CRASHES} times")
    assert job["claims"] == MAX_CRASHES + 1
    (event,) = rows(engine, "SELECT state, last_error FROM events WHERE id = :e", e=poison)
    assert event["state"] == "dead" and event["last_error"] == job["last_error"]
    per_event = tasks_per_event(sandbox.url)
    assert [per_event[e] for e in others] == [1, 1, 1]
    engine.dispose()
