"""Wall time of each phase of a job at N = 1, beside a bare client's call, one process.

The worker runs ``--jobs`` jobs in this thread against the sandbox iVvy (its own process,
answering after ``--latency-ms``), as ``profile_drain.py`` does; the claim, the run, the
HTTP call and the durable ``creating_task`` write inside the run, and the settlement are each
timed with ``perf_counter`` by wrapping the method that does it (timing only: each wrapper
calls the method unchanged).  Then a bare
client sends the worker's own last task body the same number of times.  What the worker adds
to a job beyond the bare client's call is where the drain's N = 1 ratio goes.

    .venv/bin/python bench/drain_phases.py [--db postgres] [--jobs 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack
from bench.drain import bare_calls
from bench.seed import seeded_worker
from bridge.delivery.runner import JobRunner
from bridge.ivvy.client import IvvyClient
from bridge.store.deliveries import DeliveryStore
from bridge.store.queue import Queue
from bridge.worker import Worker

SPENT: defaultdict[str, float] = defaultdict(float)
LAST_BODY: dict[str, Any] = {}


def timed(owner: type, name: str, phase: str) -> None:
    """Replace ``owner.name`` with a wrapper that adds its wall time to ``SPENT[phase]``."""
    method: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            SPENT[phase] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def keep_body() -> None:
    """Remember the last task body the worker sent, for the bare client to send."""
    method = IvvyClient.add_or_update_task

    def wrapper(self: IvvyClient, body: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        LAST_BODY["body"] = dict(body)
        return method(self, body, *args, **kwargs)

    IvvyClient.add_or_update_task = wrapper  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    timed(Queue, "claim", "claim")
    timed(JobRunner, "run", "run")
    timed(IvvyClient, "_attempt", "http")
    timed(Worker, "_settle", "settle")
    # In these runs the delivery's only write: the lease's renewal and the creating_task row,
    # the one commit that waits for the disk.
    timed(DeliveryStore, "update", "creating_task write")
    keep_body()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(directory / "sandbox.log", args.latency_ms)
        try:
            config = stack.bench_config(directory, ivvy_url)
            for round_number in range(1, args.rounds + 1):
                home = directory / f"round{round_number}"
                home.mkdir()
                with seeded_worker(args.db, home, config, home.name, args.jobs) as worker:
                    SPENT.clear()
                    started, cpu = time.perf_counter(), time.process_time()
                    done = worker.run_pending(args.jobs)
                    wall = (time.perf_counter() - started) / done * 1000
                    cpu_ms = (time.process_time() - cpu) / done * 1000
                phases = {name: seconds / done * 1000 for name, seconds in SPENT.items()}
                phases["run outside http"] = phases["run"] - phases["http"]
                shown = ", ".join(f"{name} {ms:.2f}" for name, ms in phases.items())
                print(
                    f"{args.db} round {round_number}: {done} jobs, {wall:.2f} ms a job "
                    f"(CPU {cpu_ms:.2f}); {shown}"
                )
                cpu = time.process_time()
                rate = bare_calls(ivvy_url, LAST_BODY["body"], 1, args.jobs)
                cpu_ms = (time.process_time() - cpu) / args.jobs * 1000
                print(f"  bare client: {1000 / rate:.2f} ms a call (CPU {cpu_ms:.2f})")
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
