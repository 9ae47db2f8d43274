"""PostgreSQL: a job's settlement and the next claim, one after the other or in one pipeline.

Between two jobs a worker thread sends two statements in autocommit: the settlement of the
job it ran (``Queue.complete``, folded into one statement) and the claim of its next job
(``Queue.claim``).  psycopg's pipeline mode sends both before reading either answer, so the
pair waits for the server once instead of twice.  This times the pair both ways on one
database of seeded jobs, in alternating blocks, with the same statements and parameters the
queue uses (compiled once, run on the driver's cursor as ``store/driver_statements`` runs
them); the settlement carries none of a run's other writes, the same in both.  Nothing of the
bridge is changed: it is what the pipeline could save, measured before building it.

    .venv/bin/python bench/pipeline_pair.py [--pairs 300] [--blocks 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack
from bench.seed import seeded_worker
from bridge.store import driver_statements
from bridge.store.claim_statements import claim_with_event_statement
from bridge.store.db import one_statement
from bridge.store.queue import (
    _SETTLE,
    MAX_CRASHES,
    ClaimedJob,
    Queue,
    _claimed,
    claim_params,
    settle_params,
)
from bridge.store.settle_statements import fold
from bridge.store.states import JobState

LEASE = 60.0


def one_after_the_other(queue: Queue, job: ClaimedJob, owner: str) -> ClaimedJob | None:
    """The worker's way: the settlement, its answer, then the claim, its answer."""
    now = datetime.now(UTC)
    assert queue.complete(job.id, owner, now=now)
    claimed = queue.claim(owner, limit=1, lease_seconds=LEASE, now=now)
    return claimed[0] if claimed else None


def pipelined(queue: Queue, job: ClaimedJob, owner: str) -> ClaimedJob | None:
    """Both statements sent before either answer is read (psycopg's pipeline mode)."""
    now = datetime.now(UTC)
    folded = fold(_SETTLE, settle_params(job.id, owner, JobState.DONE, now), ())
    assert folded is not None
    settle, settle_values = folded
    claim = claim_with_event_statement(1, MAX_CRASHES)
    claim_values = claim_params(owner, LEASE, now)
    with one_statement(queue.engine) as conn:
        dialect = conn.dialect
        first = driver_statements._prepare(settle, frozenset(settle_values), dialect)
        second = driver_statements._prepare(claim, frozenset(claim_values), dialect)
        assert first is not None and second is not None
        raw: Any = conn.connection.dbapi_connection
        settled, found = raw.cursor(), raw.cursor()
        with raw.pipeline():
            settled.execute(first.sql, driver_statements._parameters(first, settle_values))
            found.execute(second.sql, driver_statements._parameters(second, claim_values))
        assert settled.fetchall(), "the job was not this worker's"
        rows = [driver_statements._converted(second, row) for row in found.fetchall()]
    claimed = [_claimed(dict(zip(second.columns, row, strict=True))) for row in rows]
    return claimed[0] if claimed else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300, help="settle+claim pairs per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per way, alternating")
    args = parser.parse_args()
    ways = {"one after the other": one_after_the_other, "pipelined": pipelined}
    spent: dict[str, list[float]] = {name: [] for name in ways}
    jobs = args.pairs * args.blocks * len(ways) + 1
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(directory / "sandbox.log")
        try:
            config = stack.bench_config(directory, ivvy_url)
            with seeded_worker("postgres", directory, config, "pipe", jobs) as worker:
                queue, owner = worker.queue, worker.worker_id
                (job,) = queue.claim(owner, limit=1, lease_seconds=LEASE, now=datetime.now(UTC))
                for block in range(args.blocks * len(ways)):
                    name = list(ways)[block % len(ways)]
                    started = time.perf_counter()
                    for _ in range(args.pairs):
                        following = ways[name](queue, job, owner)
                        assert following is not None, "ran out of seeded jobs"
                        job = following
                    spent[name].append((time.perf_counter() - started) / args.pairs * 1000)
        finally:
            sandbox.stop()
    for name, blocks in spent.items():
        shown = ", ".join(f"{ms:.3f}" for ms in blocks)
        print(f"{name}: median {statistics.median(blocks):.3f} ms a pair ({shown})")
    ratio = statistics.median(spent["pipelined"]) / statistics.median(spent["one after the other"])
    print(f"pipelined / one after the other: {ratio:.3f}")


if __name__ == "__main__":
    main()
