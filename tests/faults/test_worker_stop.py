"""SIGTERM with jobs in flight: nothing lost, nothing left claimed; a second SIGTERM exits now."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from tests.faults.support import (
    PAST,
    calls,
    enqueue_events,
    job_states,
    log_lines,
    process_env,
    rows,
    set_faults,
    tasks_per_event,
    wait_until,
    write_fault_config,
)
from tests.support.processes import BridgeProcess


@pytest.mark.parametrize(
    ("shutdown_timeout", "finishes"),
    [("25", True), ("0.1", False)],
    ids=["in-flight-jobs-finish", "in-flight-jobs-released"],
)
def test_sigterm_loses_nothing_and_leaves_nothing_claimed(
    tmp_path: Path,
    sandbox: SandboxServer,
    database_url: str,
    shutdown_timeout: str,
    finishes: bool,
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    event_ids = enqueue_events(engine, 12)
    # Released: the calls outlast the shutdown timeout by far, so all four are in flight.
    set_faults(sandbox.url, latency_ms=600 if finishes else 3000)
    worker = BridgeProcess(
        ["worker", "--concurrency", "4", "--shutdown-timeout", shutdown_timeout],
        env,
        tmp_path / "first.log",
    )
    try:
        # Each call sent, not only each job claimed: a job whose claim meets the stop is
        # given straight back (worker._step), as it should be, and would not finish.
        wait_until(
            lambda: job_states(engine)["running"] == 4 and sent(engine) == 4,
            30,
            "four calls in flight",
            0.02,
        )
        worker.signal(signal.SIGTERM)
        assert worker.process.wait(30) == 0
    finally:
        worker.stop()
    states = job_states(engine)
    assert states["running"] == 0  # finished or given back, never left claimed
    assert rows(engine, "SELECT id FROM jobs WHERE lease_owner IS NOT NULL") == []
    assert states["done"] + states["ready"] == 12
    records = log_lines(worker.log_path.read_text())
    (stopped,) = [r for r in records if r.get("msg") == "worker stopped"]
    if finishes:
        assert stopped["released"] == 0 and states["done"] >= 4
    else:
        assert stopped["released"] == 4
        # A release is not a crash: the jobs keep no claim against them.
        assert rows(engine, "SELECT id FROM jobs WHERE claims > 0 AND state = 'ready'") == []
        # Their calls to iVvy were still in flight: they wait as long as a lease would.
        held = rows(engine, "SELECT run_at FROM jobs WHERE state = 'ready' ORDER BY run_at DESC")
        assert aware(held[0]["run_at"]) > datetime.now(UTC) + timedelta(seconds=5)
        # The test does not wait that long: once the sandbox has answered every call that
        # was sent, the held jobs are made due.
        wait_until(lambda: len(calls(sandbox.url, "addOrUpdateTask")) == sent(engine), 10, "calls")
        with engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET run_at = :t WHERE state = 'ready'"), {"t": PAST})

    set_faults(sandbox.url, latency_ms=0)
    second = BridgeProcess(["worker"], env, tmp_path / "second.log")
    try:
        wait_until(lambda: job_states(engine)["done"] == 12, 30, "every job done")
    finally:
        assert second.stop() == 0, second.output()
    per_event = tasks_per_event(sandbox.url)
    assert [per_event[e] for e in event_ids] == [1] * 12
    engine.dispose()


def sent(engine: Engine) -> int:
    """Deliveries whose task creation was sent (answered or not)."""
    found = rows(engine, "SELECT count(*) AS n FROM deliveries WHERE state <> 'pending'")
    return int(found[0]["n"])


def aware(value: object) -> datetime:
    """A datetime read back with plain SQL (SQLite gives text), in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_second_sigterm_exits_at_once(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), sqlite_url)
    engine = build_engine(sqlite_url)
    enqueue_events(engine, 4)
    set_faults(sandbox.url, latency_ms=20_000)  # in flight far longer than the test waits
    worker = BridgeProcess(["worker", "--concurrency", "2"], env, tmp_path / "worker.log")
    try:
        wait_until(lambda: job_states(engine)["running"] == 2, 30, "two jobs in flight", 0.02)
        worker.signal(signal.SIGTERM)
        wait_until(
            lambda: any(r.get("msg") == "stopping" for r in log_lines(worker.log_path.read_text())),
            10,
            "the first signal handled",
            0.02,
        )
        worker.signal(signal.SIGTERM)
        assert worker.process.wait(10) == 1  # the immediate exit, not the graceful one
    finally:
        worker.stop()
    messages = [r.get("msg") for r in log_lines(worker.log_path.read_text())]
    assert "second signal: exiting now" in messages
    assert "worker stopped" not in messages
    engine.dispose()
