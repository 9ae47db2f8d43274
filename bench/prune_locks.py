"""How long ``prune`` holds SQLite's write lock: this checkout's code against another's.

    nice -n 10 .venv/bin/python bench/prune_locks.py --base /tmp/prune-base --events 100000

A webhook waits for the write lock as long as the transaction holding it lasts, so the longest
and the total time the prune's write transactions last are what ingest feels, measured here
without any load to blur them. One SQLite database is grown once (``bench/history.py``, at the
migration both checkouts know); for --rounds rounds each side, alternating, prunes a fresh
copy (30-day retention: one day of 31) in a process running its own checkout's ``prune``,
timing every transaction from the moment ``BEGIN IMMEDIATE`` returned to the end of its
``COMMIT`` (or rollback). Transactions opened with ``store.db.reading`` take no lock and are
counted apart. Appends to bench/results/prune_locks.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine
from bench.growth import uptime
from bench.prune_ab import REPO, alternating_copies, grow_once, record

SIDE = """
import json, os, sys, time
from datetime import UTC, datetime
from sqlalchemy import event
from bridge.config.sections import RetentionSettings
from bridge.store import db
from bridge.store.migrate import upgrade
from bridge.store.pruning import prune

url = sys.argv[1]
upgrade(url)
os.sync()
time.sleep(2)
engine = db.build_engine(url)
read_only = getattr(db, "READ_ONLY", None)
began, held, reads = {}, [], []

@event.listens_for(engine, "begin")  # after the bridge's own hook: the lock is held now
def _began(conn):
    reading = read_only is not None and conn.get_execution_options().get(read_only, False)
    began[id(conn.connection)] = (time.perf_counter(), reading)

def _ended(original):
    def end(dbapi_conn):
        original(dbapi_conn)
        start = began.pop(id(dbapi_conn), None)
        if start is not None:
            (reads if start[1] else held).append(time.perf_counter() - start[0])
    return end

engine.dialect.do_commit = _ended(engine.dialect.do_commit)
engine.dialect.do_rollback = _ended(engine.dialect.do_rollback)
retention = RetentionSettings(events_days=30, jobs_days=30, dedupe_days=30)
wall, cpu = time.perf_counter(), time.process_time()
counts = prune(engine, retention, now=datetime.now(UTC))
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
held.sort()
ms = lambda s: round(s * 1000, 1)
print(json.dumps({
    "deleted": counts, "prune_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
    "write_transactions": len(held), "lock_held_seconds": round(sum(held), 2),
    "lock_p50_ms": ms(held[len(held) // 2]), "lock_p99_ms": ms(held[int(len(held) * 0.99)]),
    "lock_max_ms": ms(held[-1]), "read_transactions": len(reads),
    "reads_seconds": round(sum(reads), 2),
}))
"""


def _side(checkout: Path, url: str) -> dict[str, Any]:
    load_before = machine.load_average()
    out = subprocess.run(
        [sys.executable, "-c", SIDE, url],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{checkout}: prune failed\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"load_before": load_before, "load_after": machine.load_average(), **result}


def main() -> None:
    """Grow once, then alternate the two checkouts' prunes on copies, timing the lock."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=31.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "new": REPO}
    start_uptime = uptime()
    print(start_uptime, flush=True)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="bench-prune-locks-") as tmp:
        grown, seeded = grow_once(Path(tmp), args.base, args.events, args.days)
        for number, name, copy in alternating_copies(grown, list(sides), args.rounds):
            result = _side(sides[name], f"sqlite:///{copy}")
            runs[name].append(result)
            print(f"round {number + 1} {name:4}: {result}", flush=True)
    record("prune_locks", sides, args, start_uptime, seeded, runs)


if __name__ == "__main__":
    main()
