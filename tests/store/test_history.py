"""The status pages' history, from rows a real worker wrote while a test moved its clock:
received, tasks and failures per source and hour, queue depth and oldest wait, circuit periods.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.circuit_log import open_periods
from bridge.store.history import load_history, span_start
from tests.delivery.harness import ManualClock, make_bench

CIRCUIT = "delivery:\n  circuit: {failures: 1, cooldown_seconds: 30}\n"
HOUR = timedelta(hours=1)


def test_history_of_an_outage(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> None:
    clock = ManualClock()
    clock.set(clock.now.replace(minute=10, second=0) - 30 * HOUR)
    t0 = clock.now
    bench = make_bench(tmp_path, sandbox, database_url, delivery=CIRCUIT, clock=clock)
    worker = bench.worker()
    # Hour 0: three enquiries, three tasks.
    for n in range(3):
        bench.submit(n)
    assert worker.run_pending() == 3
    # Hour 2: iVvy answers 503; two enquiries wait, the circuit opens at the first failure.
    clock.set(t0 + 2 * HOUR)
    bench.faults(fail_next=100)
    bench.submit(10)
    bench.submit(11)
    assert worker.run_pending() == 1  # the circuit holds the second back
    assert worker.breaker.is_open
    # Hour 3 (+20 min): iVvy is back; the probe closes the circuit and both are delivered.
    bench.clear_faults()
    clock.set(t0 + 3 * HOUR + timedelta(minutes=20))
    assert worker.run_pending() == 2
    assert not worker.breaker.is_open

    now = t0 + 5 * HOUR
    day = load_history(bench.engine, now=now, hours=24)
    assert day.start == span_start(now, 24)
    first = int((t0 - day.start) / HOUR)
    website = day.sources["website"]
    expected_received = [0] * 24
    expected_received[first] = 3
    expected_received[first + 2] = 2
    assert website["received"] == expected_received
    assert website["tasks"][first] == 3
    assert website["tasks"][first + 3] == 2
    assert sum(website["tasks"]) == 5
    assert website["failures"][first + 2] == 1  # the one 503 answer
    assert sum(website["failures"]) == 1
    # The queue: two waiting from hour 2 to hour 3 + 20 min, the oldest for 1 h 20 min.
    assert day.depth[first] == 0  # done at the clock reading they arrived: no wait
    assert day.depth[first + 2] == 2 and day.depth[first + 3] == 2
    assert day.depth[first + 4] == 0
    assert day.oldest[first + 2] == 50 * 60  # from 2:10 to the end of that hour
    assert day.oldest[first + 3] == 80 * 60
    assert day.oldest[first + 4] == 0
    # The circuit: open from the failure to the probe's success.
    assert [(opened, closed) for opened, closed, _ in day.circuit] == [
        (t0 + 2 * HOUR, t0 + 3 * HOUR + timedelta(minutes=20))
    ]
    assert day.circuit[0][2] == worker.worker_id

    # Over seven days the same hours are there, further along; over the day 30 h later, nothing.
    week = load_history(bench.engine, now=now, hours=24 * 7)
    assert sum(week.sources["website"]["received"]) == 5
    later = load_history(bench.engine, now=now + 30 * HOUR, hours=24)
    assert later.sources == {} and later.circuit == [] and max(later.depth) == 0


def test_a_stopping_worker_closes_its_open_period(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    clock = ManualClock()
    bench = make_bench(tmp_path, sandbox, database_url, delivery=CIRCUIT, clock=clock)
    worker = bench.worker()
    bench.faults(fail_next=100)
    bench.submit(1)
    assert worker.run_pending() == 1
    opened = clock.now
    [period] = open_periods(bench.engine, since=opened - HOUR, until=opened + HOUR)
    assert period["closed_at"] is None  # still open
    clock.advance(60)
    worker.circuit_record.stop(clock.now)
    [period] = open_periods(bench.engine, since=opened - HOUR, until=opened + HOUR)
    assert (period["opened_at"], period["closed_at"]) == (opened, opened + timedelta(seconds=60))
    bench.clear_faults()
