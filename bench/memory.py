"""Memory: resident memory of a web worker and of the worker process after 10,000 and 50,000
events went through them (from /proc/<pid>/status VmRSS).

    .venv/bin/python bench/memory.py --db sqlite
    .venv/bin/python bench/memory.py --db postgres --checkpoints 10000 50000

gunicorn (``bridge serve``, 2 workers), one ``bridge worker`` and the sandbox iVvy (no added
latency) run together; senders post signed deliveries, the worker drains them, and at each
checkpoint (every job done) the RSS of every process is read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench import machine, stack
from bench.senders import Senders
from bridge.store.db import build_engine
from bridge.store.tables import jobs

TARGET_MIB = 120.0


def _jobs(database_url: str) -> tuple[int, int]:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
            done = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.state == "done")
            ).scalar_one()
        return int(total), int(done)
    finally:
        engine.dispose()


def _snapshot(web: stack.Child, worker: stack.Child, events: int) -> dict[str, Any]:
    web_workers = {pid: stack.rss_mib(pid) for pid in web.children()}
    return {
        "events": events,
        "web_workers_mib": sorted(web_workers.values()),
        "web_master_mib": stack.rss_mib(web.pid),
        "worker_mib": stack.rss_mib(worker.pid),
    }


def main() -> None:
    """Run the memory benchmark and append its result to bench/results/memory.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    load_at_start = machine.load_average()
    snapshots = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        home = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(home / "sandbox.log")
        children = [sandbox]
        try:
            with stack.bridge_database(args.db, home) as url:
                env = stack.bridge_env(url, stack.bench_config(home, ivvy_url), LOG_LEVEL="INFO")
                web, base = stack.start_bridge_web(env, home / "web.log", 2)
                children.append(web)
                worker = stack.start_worker(env, home / "worker.log", args.concurrency)
                children.append(worker)
                time.sleep(2)
                snapshots.append(_snapshot(web, worker, 0))
                sent = 0
                for checkpoint in args.checkpoints:
                    started = time.monotonic()
                    senders = Senders(
                        f"{base}/hooks/typeform-form",
                        f"mem{checkpoint}",
                        threads=args.senders,
                        limit=checkpoint - sent,
                    ).start()
                    senders.join()
                    while True:
                        total, done = _jobs(url)
                        if done >= total:
                            break
                        time.sleep(1)
                    sent = checkpoint
                    snapshot = _snapshot(web, worker, total)
                    snapshot["seconds"] = round(time.monotonic() - started, 1)
                    snapshot["statuses"] = dict(senders.statuses)
                    snapshots.append(snapshot)
                    print(snapshot, flush=True)
        finally:
            for child in reversed(children):
                child.stop()
    last = snapshots[-1]
    peak = max([*last["web_workers_mib"], last["worker_mib"]])
    result = {
        "db": args.db,
        "load_average_at_start": load_at_start,
        "worker_concurrency": args.concurrency,
        "snapshots": snapshots,
        "target_mib_under": TARGET_MIB,
        "target_met": peak < TARGET_MIB,
    }
    path = machine.record("memory", result)
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
