"""Drain: tasks created per second against the sandbox iVvy with simulated latency.

    .venv/bin/python bench/drain.py --db sqlite
    .venv/bin/python bench/drain.py --db postgres --concurrency 1 4 16 --processes 1

For each concurrency N: a fresh database seeded with events (one ready job each), the sandbox
iVvy in its own process answering every call after --latency-ms, then ``bridge worker`` with N
threads (split over --processes processes). The rule owns each task by a contact id and
assigns it by user id, so one task is exactly one iVvy call (checked from the attempts table).
The rate is measured from the jobs' finished_at, between the 10th and 90th percentile of
completions, and compared to the ideal N / latency, and to a bare client: N threads of one
process sending the same signed addOrUpdateTask to the same sandbox and doing nothing else.

Comparisons within one run, taking turns (the order rotates each round, so a busy neighbour
weighs on every configuration):

    .venv/bin/python bench/drain.py --db sqlite --sandbox-connection keep-alive close --rounds 2
    .venv/bin/python bench/drain.py --db postgres --variant base=/path/to/other/checkout

``--sandbox-connection close`` makes the sandbox answer ``Connection: close`` to every call (as
it did before it kept connections), so worker and bare client alike pay a connection per call.
``--variant NAME=DIR`` runs ``bridge worker`` from another checkout (same virtualenv, this
checkout's sandbox, seeding and schema) beside this one, named ``this``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import func, select

from bench import machine, stack
from bench.seed import seed_events
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET
from bridge.store.db import build_engine
from bridge.store.tables import attempts, deliveries, jobs

TARGET_RATIO = 0.8


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def _finished(database_url: str) -> tuple[int, int, list[datetime]]:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            states: dict[str, int] = dict(
                conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state)).all()
            )
            times = list(
                conn.execute(
                    select(jobs.c.finished_at)
                    .where(jobs.c.state == "done")
                    .order_by(jobs.c.finished_at)
                ).scalars()
            )
            calls = conn.execute(select(func.count()).select_from(attempts)).scalar_one()
        return int(states.get("done", 0)), int(calls), times
    finally:
        engine.dispose()


def jobs_in_state(database_url: str, state: str) -> int:
    """How many jobs are in ``state`` (a fresh engine: the bench's processes own theirs)."""
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(jobs).where(jobs.c.state == state)
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def _one_task_body(database_url: str) -> dict[str, Any]:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            body = conn.execute(
                select(deliveries.c.task).where(deliveries.c.task.is_not(None)).limit(1)
            ).scalar_one()
        return dict(body)
    finally:
        engine.dispose()


def bare_calls(ivvy_url: str, body: dict[str, Any], concurrency: int, calls: int) -> float:
    """The same addOrUpdateTask call from ``concurrency`` threads of one process, nothing else:
    the rate this machine allows a Python client and the sandbox, without the bridge's work."""
    numbers = itertools.count()

    def loop() -> None:
        with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=ivvy_url) as client:
            while next(numbers) < calls:
                client.add_or_update_task(dict(body))

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls / (time.perf_counter() - started)


def one_run(
    args: argparse.Namespace,
    root: Path,
    concurrency: int,
    connection: str = "keep-alive",
    variant: tuple[str, Path] = ("this", stack.REPO),
    round_number: int = 1,
) -> dict[str, Any]:
    """Seed, start the sandbox and the workers, wait for every job, measure."""
    ideal = concurrency / (args.latency_ms / 1000)
    count = max(args.min_events, int(ideal * args.seconds))
    home = root / f"r{round_number}-c{concurrency}-{connection}-{variant[0]}"
    home.mkdir()
    sandbox, ivvy_url = stack.start_sandbox(home / "sandbox.log", args.latency_ms, connection)
    workers: list[stack.Child] = []
    try:
        with stack.bridge_database(args.db, home) as url:
            config = stack.bench_config(home, ivvy_url)
            env = stack.bridge_env(url, config, LOG_LEVEL="WARNING")
            seed_events(url, config, env, f"drain{concurrency}", count)
            started = time.monotonic()
            shares = _split(concurrency, min(args.processes, concurrency))
            workers = [
                stack.start_worker(env, home / f"worker-{n}.log", share, cwd=variant[1])
                for n, share in enumerate(shares)
            ]
            deadline = started + args.timeout
            while time.monotonic() < deadline and jobs_in_state(url, "done") < count:
                time.sleep(0.5)
            wall = time.monotonic() - started
            done, calls, times = _finished(url)
            body = _one_task_body(url)
        for worker in workers:
            worker.stop()
        tasks = len(requests.get(f"{ivvy_url}/_sandbox/tasks", timeout=60).json())
        bare = bare_calls(ivvy_url, body, concurrency, min(count, max(300, int(ideal * 5))))
    finally:
        for worker in workers:
            worker.stop()
        sandbox.stop()
    low, high = int(0.1 * len(times)), max(int(0.9 * len(times)) - 1, 0)
    span = (times[high] - times[low]).total_seconds() if high > low else 0.0
    rate = (high - low) / span if span > 0 else 0.0
    result = {
        "round": round_number,
        "variant": variant[0],
        "variant_dir": str(variant[1]),
        "sandbox_connection": connection,
        "load_average": machine.load_average(),
        "concurrency": concurrency,
        "processes": len(shares),
        "events": count,
        "jobs_done": done,
        "tasks_in_sandbox": tasks,
        "ivvy_calls": calls,
        "calls_per_task": round(calls / tasks, 3) if tasks else None,
        "tasks_per_second": round(rate, 1),
        "ideal_per_second": round(ideal, 1),
        "ratio": round(rate / ideal, 3),
        "bare_calls_per_second": round(bare, 1),
        "ratio_to_bare": round(rate / bare, 3),
        "wall_seconds": round(wall, 1),
        "target_met": rate / ideal >= TARGET_RATIO and done == count,
    }
    print(
        f"round {round_number} {variant[0]} sandbox {connection}: "
        f"concurrency {concurrency:2} ({len(shares)} process(es)): {rate:7.1f} tasks/s, ideal "
        f"{ideal:.0f}, ratio {rate / ideal:.3f}; {done}/{count} jobs done, {tasks} tasks, "
        f"{calls} iVvy calls; bare client {bare:.1f} calls/s (ratio {rate / bare:.3f})",
        flush=True,
    )
    return result


def main() -> None:
    """Run the drain benchmark and append its result to bench/results/drain.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--processes", type=int, default=1, help="worker processes to split N")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15, help="events = ideal rate x this")
    parser.add_argument("--min-events", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--sandbox-connection",
        nargs="+",
        choices=["keep-alive", "close"],
        default=["keep-alive"],
        help="the sandbox keeps connections, or closes each after its answer; several alternate",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also run the worker from another checkout DIR, taking turns with this one",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration")
    args = parser.parse_args()
    variants: list[tuple[str, Path]] = [("this", stack.REPO)]
    for given in args.variant:
        name, _, folder = given.partition("=")
        if not name or not folder or not (Path(folder) / "bridge").is_dir():
            parser.error(f"--variant {given!r}: expected NAME=DIR, DIR a checkout")
        variants.append((name, Path(folder).resolve()))
    configurations = [(c, v) for v in variants for c in args.sandbox_connection]
    load_at_start = machine.load_average()
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as tmp:
        fsync = machine.fsync_ms(Path(tmp))
        runs = []
        for round_number in range(1, args.rounds + 1):
            shift = (round_number - 1) % len(configurations)
            turn = configurations[shift:] + configurations[:shift]
            for n in args.concurrency:
                for connection, variant in turn:
                    runs.append(one_run(args, Path(tmp), n, connection, variant, round_number))
    path = machine.record(
        "drain",
        {
            "db": args.db,
            "load_average_at_start": load_at_start,
            "load_average_at_end": machine.load_average(),
            "fsync_ms": fsync,
            "latency_ms": args.latency_ms,
            "runs": runs,
            "target_ratio_at_least": TARGET_RATIO,
        },
    )
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
