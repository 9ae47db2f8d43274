"""Why drain is slower on a grown SQLite database: sample the real ``bridge worker`` with py-spy.

    .venv/bin/python bench/growth_drain_probe.py grow /tmp/gprobe --events 1000000
    .venv/bin/python bench/growth_drain_probe.py drain /tmp/gprobe --rounds 2

``grow`` makes ``DIR/grown/bridge.sqlite`` (``bench/history.py``, --events handled events)
and ``DIR/empty/bridge.sqlite`` (migrated only) and keeps them, so ``drain`` can be run again
on the same files. ``drain`` runs ``bench/growth.py``'s ``drain_once`` on each, alternating
which goes first, while ``py-spy record --idle -r 200 -f raw`` samples the worker process;
then it prints the tasks/s and the worker threads' samples by deepest ``bridge/`` frame and
leaf. ``--poll old`` puts back ``growth.py``'s drain poll as it was (a read that took SQLite's
write lock and walked every done job), to compare on the same files. The databases are the
caller's to delete (about 9 GiB each million events).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench import growth, history, machine, stack
from bridge.store.db import build_engine
from bridge.store.tables import jobs

PY_SPY = Path(sys.executable).parent / "py-spy"


def grow(root: Path, events: int) -> None:
    """The grown and the empty database under ``root``, kept."""
    root.mkdir(parents=True, exist_ok=True)
    templates = history.templates_in(root)
    for name in ("grown", "empty"):
        (root / name).mkdir()
        url = f"sqlite:///{root / name / 'bridge.sqlite'}"
        stack.upgrade(url)
        if name == "grown":
            print(history.grow(url, templates, events), flush=True)
            print(history.table_counts(url), growth.database_size(url), flush=True)


def _sample(pid_of: Any, out: Path, stop: threading.Event) -> None:
    """py-spy on the worker once it exists (its pid appears after ``accept`` has stored)."""
    while not stop.is_set():
        pid = pid_of()
        if pid:
            subprocess.run(
                [
                    str(PY_SPY),
                    "record",
                    "--idle",
                    "-p",
                    str(pid),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                    "--nonblocking",
                ],
                capture_output=True,
                check=False,
            )
            return
        time.sleep(0.05)


def profiled_drain(url: str, home: Path, tag: str, args: Any) -> dict[str, Any]:
    """``growth.drain_once`` with py-spy attached to its worker."""
    started: list[stack.Child] = []
    original = stack.start_worker

    def start_worker(*a: Any, **k: Any) -> stack.Child:
        child = original(*a, **k)
        started.append(child)
        return child

    stop = threading.Event()
    raw = home.parent / f"{home.name}.raw"
    sampler = threading.Thread(
        target=_sample, args=(lambda: started[0].pid if started else 0, raw, stop)
    )
    sampler.start()
    growth.stack.start_worker = start_worker  # type: ignore[assignment]
    try:
        result = growth.drain_once(url, home, tag, args)
    finally:
        growth.stack.start_worker = original  # type: ignore[assignment]
        stop.set()
        sampler.join()
    result["raw"] = str(raw)
    result["load"] = machine.load_average()
    return result


def worker_samples(raw: Path) -> tuple[Counter[str], int]:
    """The worker threads' samples by deepest ``bridge/`` frame and leaf, from py-spy's raw
    output (one line a stack: frames joined by ``;``, then the count)."""
    found: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return found, total
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        frames = stack_text.split(";")
        if not any("Worker._loop" in frame for frame in frames):
            continue
        total += int(count_text)
        ours = [frame for frame in frames if "bridge/" in frame]
        found[f"{ours[-1] if ours else '-'} -> {frames[-1]}"] += int(count_text)
    return found, total


def _old_job_times(url: str, after_id: int) -> tuple[int, list[Any]]:
    """``growth._job_times`` as it was before it read without the lock (``--poll old``)."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            times = list(
                conn.execute(
                    select(jobs.c.finished_at)
                    .where(jobs.c.id > after_id, jobs.c.state == "done")
                    .order_by(jobs.c.finished_at)
                ).scalars()
            )
        return len(times), times
    finally:
        engine.dispose()


def drain(root: Path, args: Any) -> None:
    """--rounds rounds, each a drain on every --on database, alternating which goes first."""
    urls = {name: f"sqlite:///{root / name / 'bridge.sqlite'}" for name in args.on}
    if args.poll == "old":
        growth._job_times = _old_job_times  # type: ignore[assignment]
    stamp = time.strftime("%H%M%S")
    for number in range(args.rounds):
        order = list(urls) if number % 2 == 0 else list(reversed(urls))
        for name in order:
            home = root / f"run-{stamp}-{name}-{number}"
            result = profiled_drain(urls[name], home, f"p{stamp}{number}{name}", args)
            found, total = worker_samples(Path(result["raw"]))
            lock = sum(n for key, n in found.items() if key.startswith("_begin_immediate"))
            pool = sum(
                n for key, n in found.items() if key.startswith("transaction") and "wait" in key
            )
            print(
                f"round {number + 1} {name:5} poll {args.poll}: {result['tasks_per_second']} "
                f"tasks/s, load {result['load']}; worker threads {total} samples, "
                f"{lock} waiting for another process's write lock, {pool} for the connection",
                flush=True,
            )
            for key, count in found.most_common(args.top):
                print(f"  {count:6} {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("grow", "drain"))
    parser.add_argument("root", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--drain-events", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--top", type=int, default=8, help="frames shown per drain")
    parser.add_argument("--on", nargs="+", default=["grown", "empty"], help="databases")
    parser.add_argument(
        "--poll", choices=("new", "old"), default="new", help="growth.py's poll: old takes the lock"
    )
    args = parser.parse_args()
    if args.command == "grow":
        grow(args.root, args.events)
    else:
        drain(args.root, args)


if __name__ == "__main__":
    main()
