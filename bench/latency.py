"""Latency end to end: from a webhook's acceptance to its task existing in the sandbox iVvy.

    .venv/bin/python bench/latency.py --db sqlite
    .venv/bin/python bench/latency.py --db postgres --rate 5 --seconds 60

Everything runs as it would in production: gunicorn (``bridge serve``), one ``bridge worker``
and the sandbox iVvy in its own process (20 ms on every call by default). Signed deliveries
arrive at a constant --rate. Each event's latency is its delivery row's ``updated_at`` (written
when iVvy has answered with the task's id) minus the event's ``received_at`` (taken before the
commit that precedes the 202): an upper bound of "202 sent" to "task exists".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import func, select

from bench import load, machine, signed, stack
from bridge.store.db import build_engine
from bridge.store.tables import deliveries, events, jobs

TARGET_P50_MS = 100.0
TARGET_P99_MS = 500.0


def _latencies(database_url: str) -> list[float]:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(events.c.received_at, deliveries.c.updated_at)
                .join(deliveries, deliveries.c.event_id == events.c.id)
                .where(deliveries.c.state == "done")
            ).all()
    finally:
        engine.dispose()
    return [(done - received).total_seconds() * 1000 for received, done in rows]


def _jobs_left(database_url: str) -> int:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(jobs).where(jobs.c.state != "done")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def main() -> None:
    """Run the latency benchmark and append its result to bench/results/latency.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--latency-ms", type=int, default=20, help="the sandbox's, per call")
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    args = parser.parse_args()
    load_at_start = machine.load_average()
    count = int(args.rate * args.seconds)
    sent = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        home = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(home / "sandbox.log", args.latency_ms)
        children = [sandbox]
        try:
            with stack.bridge_database(args.db, home) as url:
                env = stack.bridge_env(url, stack.bench_config(home, ivvy_url))
                web, base = stack.start_bridge_web(env, home / "web.log", 2)
                children.append(web)
                children.append(stack.start_worker(env, home / "worker.log", args.concurrency))
                time.sleep(2)  # the worker's first claim loop
                bodies = [signed.body_for("latency", n) for n in range(count)]
                sent = load.constant_rate(
                    f"{base}/hooks/{signed.SOURCE}",
                    [(body, signed.headers(body)) for body in bodies],
                    rate=args.rate,
                    threads=8,
                )
                deadline = time.monotonic() + 60
                while _jobs_left(url) and time.monotonic() < deadline:
                    time.sleep(0.2)
                latencies = _latencies(url)
            tasks = len(requests.get(f"{ivvy_url}/_sandbox/tasks", timeout=30).json())
        finally:
            for child in reversed(children):
                child.stop()
    result: dict[str, Any] = {
        "db": args.db,
        "load_average_at_start": load_at_start,
        "rate": args.rate,
        "seconds": args.seconds,
        "sandbox_latency_ms": args.latency_ms,
        "worker_concurrency": args.concurrency,
        "events": count,
        "tasks_in_sandbox": tasks,
        "acks": load.summarise(sent, args.rate),
        "end_to_end_ms": {
            "count": len(latencies),
            "p50": round(load.percentile(latencies, 0.5), 1),
            "p90": round(load.percentile(latencies, 0.9), 1),
            "p99": round(load.percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
        "targets": {"p50_ms_under": TARGET_P50_MS, "p99_ms_under": TARGET_P99_MS},
    }
    e2e = result["end_to_end_ms"]
    result["targets"]["met"] = e2e["p50"] < TARGET_P50_MS and e2e["p99"] < TARGET_P99_MS
    path = machine.record("latency", result)
    print(
        f"{args.db}: end to end p50 {e2e['p50']} ms, p99 {e2e['p99']} ms over {e2e['count']} "
        f"events ({tasks} tasks); ack p50 {result['acks']['p50_ms']} ms, "
        f"p99 {result['acks']['p99_ms']} ms; appended to {path}"
    )


if __name__ == "__main__":
    main()
