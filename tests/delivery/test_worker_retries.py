"""Retries driven by a clock the test moves: schedule, refusals, Retry-After, giving up, and the
circuit breaker.  Real database (SQLite and PostgreSQL), real sandbox iVvy over HTTP."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import Bench, make_bench

MS = timedelta(milliseconds=1)


def attempt_rows(bench: Bench, event_id: str) -> list[tuple[str, int | None, datetime]]:
    rows = bench.rows(
        "SELECT call, status, started_at FROM attempts WHERE event_id = :e ORDER BY id", e=event_id
    )
    return [(r["call"], r["status"], _aware(r["started_at"])) for r in rows]


def _aware(value: object) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_three_503s_then_success_runs_four_times_on_the_schedule(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    worker = bench.worker(rand=random.Random(5).random)
    expected_rand = random.Random(5).random
    t0 = bench.clock()
    event_id = bench.submit()
    bench.faults(fail_next=3, status=503)

    runs = [t0]
    for attempt in (1, 2, 3):
        assert worker.run_pending() == 1
        job = bench.job(event_id)
        assert (job["state"], job["attempts"]) == ("ready", attempt)
        expected = worker.policy.next_run(
            attempts_made=attempt, now=runs[-1], created_at=t0, rand=expected_rand
        )
        assert expected is not None and job["run_at"] == expected
        bench.clock.set(expected - MS)
        assert worker.run_pending() == 0  # not a moment early
        bench.clock.set(expected)
        runs.append(expected)
    assert worker.run_pending() == 1

    job = bench.job(event_id)
    assert (job["state"], job["attempts"], job["claims"]) == ("done", 4, 4)
    assert len(bench.listing("tasks")) == 1
    rows = attempt_rows(bench, event_id)
    # Run 1 sent the task; runs 2-4 first looked for it (an unanswered 503 may have created it).
    assert [(call, status) for call, status, _ in rows] == [
        ("crm.addOrUpdateTask", 503),
        ("crm.getTaskList", 503),
        ("crm.getTaskList", 503),
        ("crm.getTaskList", 200),
        ("crm.addOrUpdateTask", 200),
    ]
    for (_, _, started), run in zip(rows, [*runs, runs[-1]], strict=True):
        assert run <= started < run + timedelta(seconds=5)
    event = bench.rows("SELECT state FROM events WHERE id = :e", e=event_id)[0]
    assert event["state"] == "done"


def test_a_validation_error_is_dead_at_once_with_its_reason(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    worker = bench.worker()
    event_id = bench.submit()
    bench.faults(fail_next=1, status=400)

    assert worker.run_pending() == 1
    job = bench.job(event_id)
    assert (job["state"], job["attempts"]) == ("dead", 1)
    assert "rule company-task" in job["last_error"] and "HTTP 400" in job["last_error"]
    delivery = bench.rows("SELECT state, error FROM deliveries WHERE event_id = :e", e=event_id)
    assert [(d["state"], "HTTP 400" in d["error"]) for d in delivery] == [("failed", True)]
    event = bench.rows("SELECT state, last_error FROM events WHERE id = :e", e=event_id)[0]
    assert event["state"] == "failed" and "HTTP 400" in event["last_error"]

    bench.clock.advance(86_400)
    assert worker.run_pending() == 0  # never retried
    assert len(bench.calls("addOrUpdateTask")) == 1
    assert bench.listing("tasks") == []


def test_no_attempt_comes_before_retry_after(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    worker = bench.worker(rand=lambda: 0.0)  # jitter alone would retry at once
    t0 = bench.clock()
    event_id = bench.submit()
    bench.faults(fail_next=1, status=429, retry_after=120)

    assert worker.run_pending() == 1
    assert bench.job(event_id)["run_at"] == t0 + timedelta(seconds=120)
    calls = len(bench.calls())
    bench.clock.set(t0 + timedelta(seconds=120) - MS)
    assert worker.run_pending() == 0
    assert len(bench.calls()) == calls
    bench.clock.set(t0 + timedelta(seconds=120))
    assert worker.run_pending() == 1
    assert bench.job(event_id)["state"] == "done"
    assert len(bench.listing("tasks")) == 1


def test_a_job_dies_with_its_reason_after_max_attempts(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, delivery="delivery:\n  max_attempts: 3\n")
    worker = bench.worker()
    event_id = bench.submit()
    bench.faults(fail_next=100, status=503)

    runs = 0
    while (job := bench.job(event_id))["state"] != "dead":
        bench.clock.set(max(bench.clock(), job["run_at"]))
        assert worker.run_pending() == 1
        runs += 1
        assert runs <= 3
    assert runs == 3 and job["attempts"] == 3
    assert job["last_error"].startswith("gave up after 3 attempts: iVvy crm?action=")
    assert "HTTP 503" in job["last_error"]
    event = bench.rows("SELECT state, last_error FROM events WHERE id = :e", e=event_id)[0]
    assert event["state"] == "dead" and event["last_error"] == job["last_error"]
    bench.clock.advance(86_400)
    assert worker.run_pending() == 0


def test_a_job_dies_when_its_next_attempt_would_pass_max_age(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, delivery="delivery:\n  max_age: 30s\n")
    worker = bench.worker(rand=lambda: 1.0)  # every wait is the whole 20 s window
    t0 = bench.clock()
    event_id = bench.submit()
    bench.faults(fail_next=100, status=503)

    assert worker.run_pending() == 1
    assert bench.job(event_id)["run_at"] == t0 + timedelta(seconds=20)
    bench.clock.advance(20)
    assert worker.run_pending() == 1  # the next one would be at 40 s: past 30 s
    job = bench.job(event_id)
    assert job["state"] == "dead"
    assert job["last_error"].startswith("gave up after 2 attempts")


def test_the_circuit_opens_holds_workers_back_then_lets_them_resume(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    delivery = "delivery:\n  circuit: {failures: 3, cooldown_seconds: 30}\n"
    bench = make_bench(tmp_path, sandbox, database_url, delivery=delivery)
    worker = bench.worker()
    t0 = bench.clock()
    event_ids = [bench.submit(n) for n in range(5)]
    bench.faults(fail_next=1000, status=503)

    assert worker.run_pending() == 3  # then the circuit opens
    assert worker.breaker.is_open
    claims = sorted(bench.job(e)["claims"] for e in event_ids)
    assert claims == [0, 0, 1, 1, 1]  # two due jobs never taken
    calls = len(bench.calls())
    bench.clock.set(t0 + timedelta(seconds=29))  # every job is due again, the circuit still open
    assert worker.run_pending() == 0
    assert len(bench.calls()) == calls

    bench.clear_faults()
    bench.clock.set(t0 + timedelta(seconds=30))
    assert worker.run_pending() == 5  # the probe succeeds, the circuit closes, all run
    assert not worker.breaker.is_open
    assert {bench.job(e)["state"] for e in event_ids} == {"done"}
    assert len(bench.listing("tasks")) == 5


def test_a_failed_probe_reopens_the_circuit(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    delivery = "delivery:\n  circuit: {failures: 2, cooldown_seconds: 30}\n"
    bench = make_bench(tmp_path, sandbox, database_url, delivery=delivery)
    worker = bench.worker(rand=lambda: 0.0)
    t0 = bench.clock()
    for n in range(4):
        bench.submit(n)
    bench.faults(fail_next=1000, status=503)
    assert worker.run_pending() == 2
    bench.clock.set(t0 + timedelta(seconds=30))
    assert worker.run_pending() == 1  # one probe, which fails
    bench.clock.set(t0 + timedelta(seconds=59))
    assert worker.run_pending() == 0
    bench.clear_faults()
    bench.clock.set(t0 + timedelta(seconds=60))
    assert worker.run_pending() == 4
    assert len(bench.listing("tasks")) == 4
