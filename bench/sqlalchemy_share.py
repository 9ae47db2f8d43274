"""How much of a job's CPU is SQLAlchemy's execution of its statements, not the driver's.

The worker runs ``--jobs`` jobs in this thread against the sandbox iVvy (its own process),
as ``profile_drain.py`` does.  Every ``Connection.execute`` is timed (CPU of this thread,
``time.thread_time``), and so is the driver's part of it, from SQLAlchemy's own
``before_cursor_execute`` to ``after_cursor_execute`` events, which bracket the driver's call.
The difference is SQLAlchemy's execution around the driver: compiled-cache lookup, execution
context, parameter and result processing.  That is what running the statements on the
driver's cursor, as the door's accept does (``store/accept_statements.py``), could save at
most.  Transactions' ``BEGIN`` and commit are not in it.  No profiler: the timers cost about
a microsecond a statement.  Since the worker runs its statements on the driver's cursor
(``bridge/store/driver_statements.py``: SQLite's since 2026-12-07, PostgreSQL's since
2026-12-08), those are printed apart: how many a job, and the driver's CPU for them.

    .venv/bin/python bench/sqlalchemy_share.py [--db postgres] [--jobs 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event
from sqlalchemy.engine import Connection

from bench import stack
from bench.seed import seeded_worker

SPENT = {"execute": 0.0, "driver": 0.0, "statements": 0, "direct": 0.0, "direct_statements": 0}
_started: dict[int, float] = {}
_inside = {"execute": False}  # one thread runs the jobs


def _timed_execute() -> None:
    """Wrap ``Connection.execute`` with a CPU timer (calls the original unchanged)."""
    original = Connection.execute

    def execute(self: Connection, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        _inside["execute"] = True
        try:
            return original(self, *args, **kwargs)
        finally:
            _inside["execute"] = False
            SPENT["execute"] += time.thread_time() - started
            SPENT["statements"] += 1

    Connection.execute = execute  # type: ignore[method-assign]


def _time_driver(engine: Any) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before(_c: Any, cursor: Any, *_rest: Any) -> None:
        _started[id(cursor)] = time.thread_time()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_c: Any, cursor: Any, *_rest: Any) -> None:
        spent = time.thread_time() - _started.pop(id(cursor))
        if _inside["execute"]:
            SPENT["driver"] += spent
        else:  # run on the driver's cursor by the bridge itself (store/driver_statements.py)
            SPENT["direct"] += spent
            SPENT["direct_statements"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _timed_execute()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(directory / "sandbox.log")
        try:
            config = stack.bench_config(directory, ivvy_url)
            for run in range(args.rounds):
                (directory / f"run{run}").mkdir()
                with seeded_worker(
                    args.db, directory / f"run{run}", config, f"run{run}", args.jobs
                ) as worker:
                    _time_driver(worker.runtime.engine)
                    SPENT.update(
                        execute=0.0, driver=0.0, statements=0, direct=0.0, direct_statements=0
                    )
                    started = time.thread_time()
                    done = worker.run_pending(args.jobs)
                    cpu = time.thread_time() - started
                per_job = {key: value / done for key, value in SPENT.items()}
                around = per_job["execute"] - per_job["driver"]
                print(
                    f"{args.db} round {run + 1}: {done} jobs, CPU {cpu / done * 1000:.2f} ms a job;"
                    f" {per_job['statements']:.1f} executes a job,"
                    f" {per_job['execute'] * 1000:.3f} ms in them,"
                    f" {per_job['driver'] * 1000:.3f} ms of it the driver's,"
                    f" {around * 1000:.3f} ms SQLAlchemy's around it;"
                    f" {per_job['direct_statements']:.1f} statements a job on the driver's"
                    f" cursor, {per_job['direct'] * 1000:.3f} ms"
                )
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
