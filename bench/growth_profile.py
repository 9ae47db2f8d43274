"""Where a drained job's time goes on a grown database against an empty one, per statement.

    .venv/bin/python bench/growth_profile.py --db sqlite --events 100000 [--jobs 300]

Both databases get the same --jobs events (stored by ``accept``); on the grown one they come
after --events handled events (``bench/history.py``). ``Worker.run_pending`` runs them in this
process against the sandbox iVvy (no added latency), while SQLAlchemy's cursor events time
each statement by kind (``bench/count_statements.py``'s kinds). Prints milliseconds per job:
wall, CPU, and each kind of statement.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench import history, stack
from bench.count_statements import _kind
from bench.seed import WARM_UP, seed_events
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.worker import Worker


def profile(url: str, directory: Path, ivvy_url: str, jobs: int) -> dict[str, float]:
    """Run ``jobs`` jobs on ``url``; milliseconds per job, in all and by statement kind."""
    config = stack.bench_config(directory, ivvy_url)
    env = stack.bridge_env(url, config)
    os.environ.update(env)  # the config's ${VARS}
    seed_events(url, config, env, f"profile{directory.name}", jobs + WARM_UP)
    runtime = Runtime.from_env(Settings.from_env(env))
    try:
        worker = Worker(runtime)
        worker.run_pending(WARM_UP)
        spent: defaultdict[str, float] = defaultdict(float)

        @event.listens_for(runtime.engine, "before_cursor_execute")
        def _before(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
            conn.info["bench_started"] = (_kind(statement), time.perf_counter())

        @event.listens_for(runtime.engine, "after_cursor_execute")
        def _after(conn: Any, *_rest: Any) -> None:
            kind, started = conn.info.pop("bench_started")
            spent[kind] += time.perf_counter() - started

        # Commits are not cursor executions: time the dialect's commit of this engine too
        # (on SQLite the durable ones wait for fsync, and some run a WAL checkpoint).
        dialect = runtime.engine.dialect
        commit = dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                commit(dbapi_connection)
            finally:
                spent["COMMIT"] += time.perf_counter() - started

        dialect.do_commit = timed_commit  # type: ignore[method-assign]
        wall, cpu = time.perf_counter(), time.process_time()
        done = worker.run_pending(jobs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        runtime.database.dispose()
    result = {"wall": wall, "cpu": cpu, **spent}
    return {kind: round(seconds * 1000 / done, 3) for kind, seconds in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-growth-profile-") as tmp:
        root = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(root / "sandbox.log")
        try:
            (root / "templates").mkdir()
            templates = history.make_templates(root / "templates", ivvy_url)
            results = {}
            for name in ("empty", "grown"):
                (root / name).mkdir()
                with stack.bridge_database(args.db, root / name) as url:
                    if name == "grown":
                        history.grow(url, templates, args.events)
                    results[name] = profile(url, root / name, ivvy_url, args.jobs)
        finally:
            sandbox.stop()
    kinds = sorted(
        set(results["empty"]) | set(results["grown"]), key=lambda k: results["grown"].get(k, 0.0)
    )
    print(f"ms per job ({args.db}, {args.jobs} jobs)   empty    grown ({args.events} events)")
    for kind in reversed(kinds):
        empty, grown = results["empty"].get(kind, 0.0), results["grown"].get(kind, 0.0)
        print(f"{kind:30} {empty:8.3f} {grown:8.3f}")


if __name__ == "__main__":
    main()
