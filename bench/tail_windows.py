"""When the slow answers at a constant rate come, and what PostgreSQL was doing then.

    .venv/bin/python bench/tail_windows.py --db postgres [--app bridge|bare] [--rate 300]

One app (as ``ingest.py`` starts it, on a fresh database) takes ``--seconds`` of signed
webhooks at ``--rate`` per second from the open-loop client of ``ingest.py``.  Printed: the
latency percentiles; the answers slower than ``--slow-ms`` counted by half-second window,
which tells a tail spread over the run from one that comes in bursts; on PostgreSQL, the
connections opened on the database during the run (``pg_stat_database.sessions``) and, for
each window, the wait events most often seen in ``pg_stat_activity``, sampled every 20 ms
from a thread of this process (the sampling costs some CPU: compare runs with and without
``--no-waits``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench import ingest, load, signed
from bridge.store.db import build_engine

WINDOW = 0.5
SAMPLE_EVERY = 0.02
WAITS = text(
    "SELECT backend_type, wait_event_type, wait_event FROM pg_stat_activity "
    "WHERE pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'"
)


def sample_waits(url: str, stop: threading.Event, into: list[tuple[float, list[Any]]]) -> None:
    """Every SAMPLE_EVERY seconds, the non-idle backends' wait events, until ``stop``."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            while not stop.is_set():
                into.append((time.perf_counter(), list(conn.execute(WAITS))))
                conn.rollback()
                time.sleep(SAMPLE_EVERY)
    finally:
        engine.dispose()


def main() -> None:
    """Run one app at a constant rate and print where its slow answers fell."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--app", choices=["bridge", "bare"], default="bridge")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slow-ms", type=float, default=50.0)
    parser.add_argument("--no-waits", action="store_true", help="do not sample pg_stat_activity")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    requests = []
    for number in range(count):
        body = signed.body_for("tail", number)
        requests.append((body, signed.headers(body)))
    postgres = args.db == "postgres"
    samples: list[tuple[float, list[Any]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmp:
        home = Path(tmp)
        child, (db, url, _table), base = ingest._start(args.app, args.db, home, args.workers)
        stop = threading.Event()
        try:
            before = ingest.sessions(url) if postgres else 0
            if postgres and not args.no_waits:
                threading.Thread(target=sample_waits, args=(url, stop, samples)).start()
            started = time.perf_counter() + 0.2  # constant_rate starts 0.2 s after it is called
            sent = load.constant_rate(f"{base}/hooks/{signed.SOURCE}", requests, rate=args.rate)
            stop.set()
            # Counts this script's own too: the sampler's and the first count's.
            opened = ingest.sessions(url) - before if postgres else None
        finally:
            stop.set()
            child.stop()
            db.__exit__(None, None, None)
    summary = load.summarise(sent, args.rate)
    print(
        f"{args.app} on {args.db} at {args.rate:.0f}/s: p50 {summary['p50_ms']} "
        f"p90 {summary['p90_ms']} p99 {summary['p99_ms']} max {summary['max_ms']} ms; "
        f"statuses {summary['statuses']}"
        + (f"; connections opened during the run: {opened}" if opened is not None else "")
    )
    slow = Counter(int(item.due / WINDOW) for item in sent if item.latency * 1000 > args.slow_ms)
    waits: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for at, rows in samples:
        for backend, kind, event in rows:
            if kind not in (None, "Activity", "Client"):  # waiting on something, not idle
                waits[int((at - started) / WINDOW)][f"{backend}: {kind}/{event}"] += 1
    print(f"answers slower than {args.slow_ms:.0f} ms, by window of {WINDOW} s:")
    for window in range(int(args.seconds / WINDOW) + 1):
        if slow.get(window) or waits.get(window):
            seen = ", ".join(f"{name} x{n}" for name, n in waits[window].most_common(3))
            print(f"  {window * WINDOW:5.1f} s  {slow.get(window, 0):4d} slow  {seen}")


if __name__ == "__main__":
    main()
