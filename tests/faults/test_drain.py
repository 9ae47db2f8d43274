"""Four worker processes drain 5,000 jobs: each claimed once, completed once, by its owner."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from tests.faults.support import (
    enqueue_events,
    job_states,
    log_lines,
    process_env,
    rows,
    tasks_per_event,
    wait_until,
    write_fault_config,
)
from tests.support.processes import BridgeProcess

JOBS = 5000


@pytest.mark.slow
def test_four_workers_drain_5000_jobs_each_exactly_once(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    env = process_env(write_fault_config(tmp_path, sandbox.url), database_url)
    engine = build_engine(database_url)
    event_ids = enqueue_events(engine, JOBS)
    workers = [
        BridgeProcess(["worker", "--concurrency", "4"], env, tmp_path / f"worker{n}.log")
        for n in range(4)
    ]
    try:
        wait_until(lambda: job_states(engine)["done"] == JOBS, 240, "every job done", 0.5)
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0, 0, 0]

    # Claim exclusivity: no job was ever taken twice, and each ran once.
    counts = rows(
        engine, "SELECT claims, attempts, count(*) AS n FROM jobs GROUP BY claims, attempts"
    )
    assert [(r["claims"], r["attempts"], r["n"]) for r in counts] == [(1, 1, JOBS)]
    # Fencing: every completion was made by the job's owner (complete() said so), once.
    completions: Counter[int] = Counter()
    refused = []
    for worker in workers:
        for record in log_lines(worker.log_path.read_text()):
            if record.get("msg") == "job done":
                completions[record["job"]] += 1
            elif "lease" in str(record.get("msg")):
                refused.append(record)
    assert refused == []
    assert len(completions) == JOBS and set(completions.values()) == {1}
    assert sum(1 for worker_log in workers if "job done" in worker_log.log_path.read_text()) > 1
    # And iVvy holds exactly one task per event.
    per_event = tasks_per_event(sandbox.url)
    assert len(per_event) == JOBS and set(per_event.values()) == {1}
    assert set(per_event) == set(event_ids)
    engine.dispose()
