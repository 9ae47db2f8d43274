"""Growth: ingest and drain on a database holding N handled events, beside an empty one.

    .venv/bin/python bench/growth.py --db sqlite --events 1000000
    .venv/bin/python bench/growth.py --db postgres --events 1000000

Two databases in one run: one grown to --events handled events over --days days
(``bench/history.py``: each with its dedupe key, its done job, its done delivery and its
attempt), one empty. For --rounds rounds, alternating which goes first: ingest saturated
exactly as ``bench/ingest.py`` measures it (``bridge serve``, wrk, signed 5 KB bodies each sent
once), then drain as ``bench/drain.py`` does (``bridge worker --concurrency N``, the sandbox
iVvy answering after 20 ms, events stored by the bridge's own ``accept``). The ratios are
grown ÷ empty. Last, ``bridge prune`` on the grown database while the bridge takes webhooks at
a constant --prune-rate: how long it takes, and the ingest latency before, during and after.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, func, select, update

from bench import history, load, machine, signed, stack
from bench.drain import jobs_in_state
from bench.prune_load import prune_under_load
from bench.seed import seed_events
from bridge.clock import utc_now
from bridge.store.db import build_engine, reading
from bridge.store.tables import events, jobs

TARGET_RATIO = 0.95
# Long enough that a worker's own hourly prune (housekeeping) deletes nothing while measured.
KEEP_ALL = "retention: {events_days: 3650, jobs_days: 3650, dedupe_days: 3650}\n"


def _retire_ingested(url: str) -> None:
    """Mark the jobs the ingest left ready as done, so the drain runs only its own."""
    engine = build_engine(url)
    try:
        with engine.begin() as conn:
            now = utc_now()
            conn.execute(
                update(jobs).where(jobs.c.state == "ready").values(state="done", finished_at=now)
            )
            conn.execute(update(events).where(events.c.state == "received").values(state="done"))
    finally:
        engine.dispose()


def ingest_once(url: str, home: Path, bodies: tuple[Path, Path], args: Any) -> dict[str, Any]:
    """``bridge serve`` on ``url``: wrk warm-up 3 s, then --seconds measured."""
    home.mkdir()
    config = stack.bench_config(home, "http://127.0.0.1:9", delivery=KEEP_ALL)
    env = stack.bridge_env(url, config)
    child, base = stack.start_bridge_web(env, home / "web.log", args.workers)
    try:
        hook = f"{base}/hooks/{signed.SOURCE}"
        load.run_wrk(hook, bodies[0], seconds=3, connections=args.connections)
        before = jobs_in_state(url, "ready")
        result = load.run_wrk(hook, bodies[1], seconds=args.seconds, connections=args.connections)
        result["stored"] = jobs_in_state(url, "ready") - before
    finally:
        child.stop()
    _retire_ingested(url)
    return result


# The jobs after an id: a range of the primary key (``tests/store/test_bench_growth_poll.py``).
JOBS_AFTER = select(jobs.c.state, jobs.c.finished_at).where(jobs.c.id > bindparam("after"))


def _job_times(url: str, after_id: int) -> tuple[int, list[Any]]:
    """The finish times of the jobs after ``after_id`` that are done, polled while a drain runs.

    Read in ``reading`` (a deferred ``BEGIN`` on SQLite: no write lock) and through the primary
    key, the state tested here: with ``state = 'done'`` in SQL the planner walks
    ``ix_jobs_state_run_at`` over every done job of the history (0.2 s at a million) and, in the
    ``BEGIN IMMEDIATE`` every other transaction opens with on SQLite, held the worker's write
    lock that long every 0.5 s: that, not the bridge, was the drain's loss on the grown
    database (``bench/growth_drain_probe.py``, BENCHMARKS.md).
    """
    engine = build_engine(url)
    try:
        with reading(engine) as conn:
            rows = conn.execute(JOBS_AFTER, {"after": after_id}).all()
        times = sorted(finished for state, finished in rows if state == "done")
        return len(times), times
    finally:
        engine.dispose()


def _max_job_id(url: str) -> int:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(jobs.c.id), 0))).scalar_one())
    finally:
        engine.dispose()


def drain_once(url: str, home: Path, tag: str, args: Any) -> dict[str, Any]:
    """--drain-events stored by ``accept``, then ``bridge worker`` until every one is done."""
    home.mkdir()
    sandbox, ivvy_url = stack.start_sandbox(home / "sandbox.log", args.latency_ms)
    workers: list[stack.Child] = []
    try:
        config = stack.bench_config(home, ivvy_url, delivery=KEEP_ALL)
        env = stack.bridge_env(url, config, LOG_LEVEL="WARNING")
        first = _max_job_id(url)
        seed_events(url, config, env, tag, args.drain_events)
        started = time.monotonic()
        workers = [stack.start_worker(env, home / "worker.log", args.concurrency)]
        done = 0
        while time.monotonic() - started < args.drain_timeout:
            done, times = _job_times(url, first)
            if done >= args.drain_events:
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.stop()
        sandbox.stop()
    low, high = int(0.1 * len(times)), max(int(0.9 * len(times)) - 1, 0)
    span = (times[high] - times[low]).total_seconds() if high > low else 0.0
    rate = (high - low) / span if span > 0 else 0.0
    return {"events": args.drain_events, "done": done, "tasks_per_second": round(rate, 1)}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def rounds(args: argparse.Namespace, root: Path, urls: dict[str, str]) -> dict[str, Any]:
    """Ingest then drain on each database, alternating which goes first."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"ingest": [], "drain": []} for name in urls
    }
    per_round = args.max_rps * args.seconds
    for number in range(args.rounds):
        # Each round its own bodies: the grown and the empty database see the same ones.
        bodies = (
            signed.write_wrk_file(root / f"warm-{number}.tsv", f"warm{number}", args.max_rps * 3),
            signed.write_wrk_file(root / f"run-{number}.tsv", f"run{number}", per_round),
        )
        order = list(urls) if number % 2 == 0 else list(reversed(urls))
        for name in order:
            result = ingest_once(urls[name], root / f"ingest-{name}-{number}", bodies, args)
            runs[name]["ingest"].append(result)
            print(
                f"round {number + 1} ingest {name:5}: {result['rps']:7.1f} req/s  p50 "
                f"{result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  stored "
                f"{result['stored']}  statuses {result['statuses']}  errors {result['errors']}",
                flush=True,
            )
        for name in order:
            home = root / f"drain-{name}-{number}"
            result = drain_once(urls[name], home, f"drain{number}{name}", args)
            runs[name]["drain"].append(result)
            print(f"round {number + 1} drain  {name:5}: {result}", flush=True)
    summary: dict[str, Any] = {"runs": runs}
    for name in urls:
        summary[name] = {
            "ingest_rps": _median(runs[name]["ingest"], "rps"),
            "ingest_p99_ms": _median(runs[name]["ingest"], "p99_ms"),
            "drain_tasks_per_second": _median(runs[name]["drain"], "tasks_per_second"),
        }
    for measure in ("ingest_rps", "drain_tasks_per_second"):
        summary[f"{measure}_ratio"] = round(
            summary["grown"][measure] / summary["empty"][measure], 3
        )
    return summary


def database_size(url: str) -> str:
    """The grown database's size on disk."""
    if url.startswith("sqlite"):
        return f"{Path(url.split(':///', 1)[1]).stat().st_size / 2**30:.2f} GiB"
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT pg_size_pretty(pg_database_size(current_database()))"
            return str(conn.exec_driver_sql(query).scalar_one())
    finally:
        engine.dispose()


def uptime() -> str:
    """`uptime`'s line: the machine is shared, and this says how busy it was."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    """Run the growth benchmark and append its result to bench/results/growth.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--events", type=int, default=1_000_000, help="handled events stored")
    parser.add_argument("--days", type=float, default=31.0, help="history spread over")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per ingest round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--max-rps", type=int, default=1500, help="bodies made per wrk second")
    parser.add_argument("--drain-events", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads (drain)")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--prune-rate", type=float, default=100.0, help="webhooks/s during prune")
    parser.add_argument("--prune-jobs-days", type=int, default=30, help="retention.jobs_days")
    parser.add_argument("--prune-timeout", type=float, default=1800)
    args = parser.parse_args()
    load_at_start, uptime_at_start = machine.load_average(), uptime()
    print(uptime_at_start, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        root = Path(tmp)
        fsync = machine.fsync_ms(root)
        templates = history.templates_in(root)
        for name in ("grown", "empty"):
            (root / name).mkdir()
        with (
            stack.bridge_database(args.db, root / "grown") as grown,
            stack.bridge_database(args.db, root / "empty") as empty,
        ):
            seeded = history.grow(grown, templates, args.events, days=args.days)
            seeded["tables"] = history.table_counts(grown)
            seeded["size"] = database_size(grown)
            print(f"seeded: {seeded}\n{uptime()}", flush=True)
            summary = rounds(args, root, {"grown": grown, "empty": empty})
            print(uptime(), flush=True)
            pruned = prune_under_load(grown, root / "prune", args)
            print(f"prune: {pruned}\n{uptime()}", flush=True)
    result = {
        "db": args.db,
        "load_average_at_start": load_at_start,
        "uptime_at_start": uptime_at_start,
        "uptime_at_end": uptime(),
        "fsync_ms": fsync,
        "settings": {key: value for key, value in vars(args).items() if key != "db"},
        "history": seeded,
        "rounds": summary,
        "prune": pruned,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "ingest_met": summary["ingest_rps_ratio"] >= TARGET_RATIO,
            "drain_met": summary["drain_tasks_per_second_ratio"] >= TARGET_RATIO,
        },
    }
    path = machine.record("growth", result)
    print(
        f"\ningest grown {summary['grown']['ingest_rps']:.0f} ÷ empty "
        f"{summary['empty']['ingest_rps']:.0f} req/s = {summary['ingest_rps_ratio']:.3f}; drain "
        f"grown {summary['grown']['drain_tasks_per_second']:.1f} ÷ empty "
        f"{summary['empty']['drain_tasks_per_second']:.1f} tasks/s = "
        f"{summary['drain_tasks_per_second_ratio']:.3f} (target >= {TARGET_RATIO}); "
        f"appended to {path}"
    )


if __name__ == "__main__":
    main()
