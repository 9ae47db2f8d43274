"""Ingest: the bridge's /hooks/<source> against the bare durable limit, same gunicorn, same DB.

    .venv/bin/python bench/ingest.py --db sqlite
    .venv/bin/python bench/ingest.py --db postgres

Saturation (wrk, closed loop) for the bare app and the bridge in alternating rounds, each on a
fresh database; then a constant-rate run (open loop) at --rate requests per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bench import load, machine, signed, stack
from bench.bare_app import rows as bare_rows
from bridge.store.db import build_engine
from bridge.store.tables import events

TARGET_RATIO = 0.9
TARGET_P99_MS = 50.0


def _count(database_url: str, table: Any) -> int:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def sessions(database_url: str) -> int:
    """PostgreSQL: connections ever opened on the database, as ``pg_stat_database`` counts them.

    A connection that closes always reports itself; one still open may not have yet.
    """
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _start(app: str, kind: str, home: Path, workers: int) -> tuple[Any, Any, str]:
    """Start ``app`` (bare or bridge) on a fresh database; returns (child, db, base)."""
    if app == "bare":
        db = stack.fresh_database(kind, home, "bare")
        url = db.__enter__()
        child, base = stack.start_bare_web(url, home / "bare.log", workers)
        return child, (db, url, bare_rows), base
    db = stack.bridge_database(kind, home)
    url = db.__enter__()
    config = stack.bench_config(home, "http://127.0.0.1:9")  # the web process never calls iVvy
    env = stack.bridge_env(url, config)
    child, base = stack.start_bridge_web(env, home / "web.log", workers)
    return child, (db, url, events), base


def saturate(args: argparse.Namespace, root: Path, files: tuple[Path, Path]) -> dict[str, Any]:
    """Alternate the apps' rounds under wrk; the median of each."""
    warm, measured = files
    runs: dict[str, list[dict[str, Any]]] = {app: [] for app in args.apps}
    for number in range(args.rounds):
        for app in args.apps:
            home = root / f"{app}-{number}"
            home.mkdir()
            child, (db, url, table), base = _start(app, args.db, home, args.workers)
            try:
                hook = f"{base}/hooks/{signed.SOURCE}"
                load.run_wrk(hook, warm, seconds=3, connections=args.connections)
                before = _count(url, table)
                postgres = args.db == "postgres"
                sessions_before = sessions(url) if postgres else 0
                result = load.run_wrk(
                    hook, measured, seconds=args.seconds, connections=args.connections
                )
                result["stored"] = _count(url, table) - before
                opened = ""
                if postgres:  # the web's pool with overflow opened hundreds (BENCHMARKS.md)
                    result["connections_opened"] = sessions(url) - sessions_before
                    opened = f"  connections opened {result['connections_opened']}"
                runs[app].append(result)
                print(
                    f"round {number + 1} {app:6}: {result['rps']:8.1f} req/s  "
                    f"p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  "
                    f"statuses {result['statuses']}  errors {result['errors']}{opened}",
                    flush=True,
                )
            finally:
                child.stop()
                db.__exit__(None, None, None)
    summary: dict[str, Any] = {"runs": runs}
    for app in args.apps:
        summary[app] = {
            key: statistics.median(run[key] for run in runs[app])
            for key in ("rps", "p50_ms", "p99_ms")
        }
    summary["ratio"] = round(summary["bridge"]["rps"] / summary["bare"]["rps"], 3)
    return summary


def fixed_rate(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Both apps at --rate requests per second for --rate-seconds."""
    count = int(args.rate * args.rate_seconds)
    requests = []
    for number in range(count):
        body = signed.body_for("rate", number)
        requests.append((body, signed.headers(body)))
    results = {}
    for app in args.apps:
        home = root / f"{app}-rate"
        home.mkdir()
        child, (db, url, table), base = _start(app, args.db, home, args.workers)
        try:
            hook = f"{base}/hooks/{signed.SOURCE}"
            sent = load.constant_rate(hook, requests, rate=args.rate)
            results[app] = load.summarise(sent, args.rate)
            results[app]["stored"] = _count(url, table)
            print(f"{args.rate:.0f} req/s {app:6}: {results[app]}", flush=True)
        finally:
            child.stop()
            db.__exit__(None, None, None)
    return results


def main() -> None:
    """Run the ingest benchmark and append its result to bench/results/ingest.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--seconds", type=int, default=15, help="each saturation run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both apps)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--rate-seconds", type=int, default=20)
    parser.add_argument(
        "--only-rate", action="store_true", help="skip saturation: the fixed-rate part alone"
    )
    parser.add_argument(
        "--max-rps", type=int, default=4000, help="bodies are made for this rate (no reuse)"
    )
    args = parser.parse_args()
    args.apps = ["bare", "bridge"]
    load_at_start = machine.load_average()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        fsync = machine.fsync_ms(root)
        started = time.monotonic()
        warm = measured = root / "unused.tsv"
        if not args.only_rate:
            warm = signed.write_wrk_file(root / "warm.tsv", "warm", 4000 * 3)
            measured = signed.write_wrk_file(
                root / "measured.tsv", "run", args.max_rps * args.seconds
            )
        print(f"bodies written in {time.monotonic() - started:.1f} s", flush=True)
        saturation = None if args.only_rate else saturate(args, root, (warm, measured))
        rate = fixed_rate(args, root)
    result = {
        "db": args.db,
        "load_average_at_start": load_at_start,
        "fsync_ms": fsync,
        "settings": {
            "gunicorn_workers": args.workers,
            "wrk_connections": args.connections,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "durability": "WAL + synchronous=FULL"
            if args.db == "sqlite"
            else "PostgreSQL defaults (fsync=on, synchronous_commit=on)",
        },
        "saturation": saturation,
        "fixed_rate": rate,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "ratio_met": saturation["ratio"] >= TARGET_RATIO if saturation else None,
            "p99_ms_under": TARGET_P99_MS,
            "p99_met": rate["bridge"]["p99_ms"] < TARGET_P99_MS,
        },
    }
    path = machine.record("ingest", result)
    if saturation:
        print(
            f"\nbare {saturation['bare']['rps']:.0f} req/s, bridge "
            f"{saturation['bridge']['rps']:.0f} req/s, ratio {saturation['ratio']:.3f} "
            f"(target >= {TARGET_RATIO})"
        )
    print(
        f"bridge p99 at {args.rate:.0f} req/s: {rate['bridge']['p99_ms']} ms "
        f"(target < {TARGET_P99_MS}); appended to {path}"
    )


if __name__ == "__main__":
    main()
