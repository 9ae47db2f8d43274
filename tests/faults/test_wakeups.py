"""A job committed by another process wakes an idle worker at once: with polling set to an hour,
only the wake-up (PostgreSQL NOTIFY, or the SQLite log watcher) can make it run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import requests

from bridge.events import Event
from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from bridge.store.inbox import accept
from tests.faults.support import (
    job_states,
    process_env,
    tasks_per_event,
    wait_until,
    write_fault_config,
)
from tests.support.configs import TOKEN
from tests.support.processes import BridgeProcess, start_web


def test_an_idle_worker_wakes_for_a_new_job_without_polling(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    worker = BridgeProcess(["worker", "--poll", "3600"], env, tmp_path / "worker.log")
    try:
        wait_until(lambda: "worker started" in worker.output(), 30, "the worker up")
        event_ids = []
        for n in range(3):  # one after another, each finding the worker idle
            now = datetime.now(UTC)
            event = Event("website", "form", "form", f"w-{n}", now, {"first_name": "Guest"})
            stored = accept(
                engine,
                event,
                f"w-{n}",
                headers={},
                body=b"{}",
                content_type="application/json",
                now=now,
            )
            event_ids.append(stored.event_id)
            wait_until(lambda n=n: job_states(engine)["done"] == n + 1, 20, f"job {n} run")
    finally:
        assert worker.stop() == 0, worker.output()
    per_event = tasks_per_event(sandbox.url)
    assert [per_event[e] for e in event_ids] == [1, 1, 1]
    engine.dispose()


def test_webhooks_through_gunicorn_wake_an_idle_worker(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    # gunicorn preloads the app and forks its workers: on PostgreSQL each web worker must
    # send its own notices (store.job_notices), from a thread started after the fork.
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    web, base = start_web(env, tmp_path / "web.log", workers=2)
    worker = BridgeProcess(["worker", "--poll", "3600"], env, tmp_path / "worker.log")
    try:
        wait_until(lambda: "worker started" in worker.output(), 30, "the worker up")
        event_ids = []
        for n in range(4):  # one after another, each finding the worker idle
            response = requests.post(
                f"{base}/hooks/website",
                json={"id": f"g-{n}", "first_name": "Guest"},
                headers={"X-Bridge-Token": TOKEN},
                timeout=10,
            )
            assert response.status_code == 202, response.text
            event_ids.append(response.json()["event"])
            wait_until(lambda n=n: job_states(engine)["done"] == n + 1, 20, f"job {n} run")
    finally:
        assert worker.stop() == 0, worker.output()
        web.stop()
        engine.dispose()
    per_event = tasks_per_event(sandbox.url)
    assert [per_event[e] for e in event_ids] == [1, 1, 1, 1]
