"""``bridge prune`` under load: this checkout's code against another's, alternating, one run.

    nice -n 10 .venv/bin/python bench/prune_ab.py --base /tmp/prune-base --events 100000

One SQLite database is grown once (``bench/history.py``, at the migration both checkouts
know), then for --rounds rounds each side, in alternating order, gets a fresh copy of it and
runs ``bench/prune_load.py`` from its own checkout: ``bridge serve`` taking signed webhooks at
--prune-rate while ``bridge prune`` deletes one day of the 31 (see bench/README.md, Growth).
Each side first migrates its copy to its own head (not timed with the prune). The result, with
the load average around each run, is appended to bench/results/prune_ab.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import history, machine
from bench.growth import uptime
from bridge.store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
# After the copy (1.3 GiB at 100,000 events) and the migration, before the web starts: without
# it the kernel was still writing the fresh copy back while the first side measured, and its
# webhooks' fsyncs waited behind that (p99 0.5-0.7 s before any prune, against 0.05-0.2 s).
SETTLE_SECONDS = 3.0
# Run in the side's checkout (its bridge, its bench): migrate, then prune under load.
SIDE = """
import json, os, sys, time
from argparse import Namespace
from pathlib import Path
from bench.prune_load import prune_under_load
from bridge.store.migrate import upgrade
url, home, settings = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
SETTLE = settings.pop("settle_seconds")
started = time.monotonic()
upgrade(url)
migrated = round(time.monotonic() - started, 1)
os.sync()  # the copy's and the migration's writes reach the disk before the clock starts
time.sleep(SETTLE)
result = prune_under_load(url, home, Namespace(**settings))
print(json.dumps({"migrate_seconds": migrated, **result}))
"""


def _head(checkout: Path) -> str:
    code = "from bridge.store.migrate import head_revision; print(head_revision())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def grow_once(root: Path, base: Path, events: int, days: float) -> tuple[Path, dict[str, Any]]:
    """One SQLite history (``bench/history.py``) at the newest migration both checkouts know."""
    templates = history.templates_in(root)
    grown = root / "grown.sqlite"
    upgrade(f"sqlite:///{grown}", _head(base))
    seeded = history.grow(f"sqlite:///{grown}", templates, events, days=days)
    print(f"seeded: {seeded}  {uptime()}", flush=True)
    return grown, seeded


def alternating_copies(
    grown: Path, names: list[str], rounds: int
) -> Iterator[tuple[int, str, Path]]:
    """A fresh copy of ``grown`` for each side in each round, the order flipped every round."""
    for number in range(rounds):
        for name in names if number % 2 == 0 else list(reversed(names)):
            copy = grown.parent / f"{name}-{number}.sqlite"
            shutil.copyfile(grown, copy)
            yield number, name, copy
            for leftover in grown.parent.glob(f"{copy.name}*"):  # the copy, its -wal and -shm
                leftover.unlink()


def record(
    benchmark: str,
    sides: dict[str, Path],
    args: argparse.Namespace,
    start_uptime: str,
    seeded: dict[str, Any],
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    """Append the run to bench/results/<benchmark>.jsonl."""
    result = {
        "db": "sqlite",
        "uptime_at_start": start_uptime,
        "uptime_at_end": uptime(),
        "base": str(sides["base"]),
        "base_commit": machine.commit_of(sides["base"]),
        "settings": {key: str(value) for key, value in vars(args).items()},
        "history": seeded,
        "runs": runs,
    }
    print(f"appended to {machine.record(benchmark, result)}")


def _side(checkout: Path, url: str, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = {
        "prune_rate": args.prune_rate,
        "prune_jobs_days": args.prune_jobs_days,
        "workers": args.workers,
        "prune_timeout": args.prune_timeout,
        "settle_seconds": SETTLE_SECONDS,
    }
    load_before = machine.load_average()
    out = subprocess.run(
        [sys.executable, "-c", SIDE, url, str(home), json.dumps(settings)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"load_before": load_before, "load_after": machine.load_average(), **result}


def _line(name: str, result: dict[str, Any]) -> str:
    phases = "  ".join(
        f"{phase} p50 {result[phase]['p50_ms']:.0f} p99 {result[phase]['p99_ms']:.0f} "
        f"max {result[phase]['max_ms']:.0f} ms {result[phase]['statuses']}"
        for phase in ("before", "during", "after")
    )
    return (
        f"{name:4}: prune {result['prune_seconds']} s  {phases}  "
        f"load {result['load_before']} -> {result['load_after']}"
    )


def main() -> None:
    """Grow once, then alternate the two checkouts' prunes on copies."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=31.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--prune-rate", type=float, default=100.0, help="webhooks/s")
    parser.add_argument("--prune-jobs-days", type=int, default=30, help="retention.jobs_days")
    parser.add_argument("--prune-timeout", type=float, default=1800)
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "new": REPO}
    start_uptime = uptime()
    print(start_uptime, flush=True)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="bench-prune-ab-") as tmp:
        root = Path(tmp)
        grown, seeded = grow_once(root, args.base, args.events, args.days)
        for number, name, copy in alternating_copies(grown, list(sides), args.rounds):
            home = root / f"{name}-{number}"
            result = _side(sides[name], f"sqlite:///{copy}", home, args)
            runs[name].append(result)
            print(f"round {number + 1} " + _line(name, result), flush=True)
    record("prune_ab", sides, args, start_uptime, seeded, runs)


if __name__ == "__main__":
    main()
