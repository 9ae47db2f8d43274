"""Ingest with gunicorn's sync worker (before) and gthread (after), alternating in one run.

    .venv/bin/python bench/worker_class_ab.py --db sqlite
    .venv/bin/python bench/worker_class_ab.py --db postgres

The bridge only, on a fresh database per round: saturation under wrk (closed loop), then
a constant rate (open loop, latency from each request's due time).  The two worker
classes take turns so that a busy neighbour on a shared machine weighs on both alike.
Appends the result to bench/results/worker_class_ab.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, machine, signed, stack

CLASSES = ("sync", "gthread")


def _bridge(kind: str, home: Path, workers: int, worker_class: str) -> tuple[Any, Any, str]:
    db = stack.bridge_database(kind, home)
    url = db.__enter__()
    config = stack.bench_config(home, "http://127.0.0.1:9")  # the web process never calls iVvy
    env = stack.bridge_env(url, config, WEB_WORKER_CLASS=worker_class)
    child, base = stack.start_bridge_web(env, home / "web.log", workers)
    return child, db, base


def main() -> None:
    """Alternate the worker classes; print and record the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--rate-seconds", type=int, default=20)
    args = parser.parse_args()
    load_at_start = machine.load_average()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CLASSES}
    rates: dict[str, list[dict[str, Any]]] = {name: [] for name in CLASSES}
    with tempfile.TemporaryDirectory(prefix="bench-worker-class-") as tmp:
        root = Path(tmp)
        warm = signed.write_wrk_file(root / "warm.tsv", "warm", 4000 * 3)
        measured = signed.write_wrk_file(root / "run.tsv", "run", 4000 * args.seconds)
        for number in range(args.rounds):
            for worker_class in CLASSES:
                home = root / f"{worker_class}-{number}"
                home.mkdir()
                child, db, base = _bridge(args.db, home, args.workers, worker_class)
                try:
                    hook = f"{base}/hooks/{signed.SOURCE}"
                    load.run_wrk(hook, warm, seconds=3, connections=args.connections)
                    result = load.run_wrk(
                        hook, measured, seconds=args.seconds, connections=args.connections
                    )
                    runs[worker_class].append(result)
                    batch = [
                        (body, signed.headers(body))
                        for body in (
                            signed.body_for(f"rate-{number}", n)
                            for n in range(int(args.rate * args.rate_seconds))
                        )
                    ]
                    sent = load.constant_rate(hook, batch, rate=args.rate)
                    rates[worker_class].append(load.summarise(sent, args.rate))
                    print(
                        f"round {number + 1} {worker_class:7}: {result['rps']:7.1f} req/s "
                        f"p99 {result['p99_ms']:.1f} ms; at {args.rate:.0f} req/s p99 "
                        f"{rates[worker_class][-1]['p99_ms']} ms "
                        f"statuses {result['statuses']}",
                        flush=True,
                    )
                finally:
                    child.stop()
                    db.__exit__(None, None, None)
    summary = {
        name: {
            "rps": statistics.median(r["rps"] for r in runs[name]),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs[name]),
            "rate_p99_ms": statistics.median(r["p99_ms"] for r in rates[name]),
        }
        for name in CLASSES
    }
    result = {
        "db": args.db,
        "load_average_at_start": load_at_start,
        "load_average_at_end": machine.load_average(),
        "settings": vars(args),
        "summary": summary,
        "runs": runs,
        "rates": rates,
    }
    path = machine.record("worker_class_ab", result)
    for name in CLASSES:
        print(f"{name:7}: {summary[name]}")
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
