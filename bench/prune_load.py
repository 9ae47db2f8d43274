"""``bridge prune`` on a grown database while the bridge takes webhooks at a constant rate.

The open-loop client of ``bench/load.py`` sends in chunks of a few seconds: first without the
prune (10 seconds), then for as long as ``bridge prune`` runs, then one chunk
after. Each request is counted in the phase its scheduled send time falls in, so a stall
during the prune shows in that phase's tail.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import load, signed, stack

CHUNK_SECONDS = 5
BASELINE_SECONDS = 10
# retention for the prune itself; the history spans --days (31 by default), so one day is due.
PRUNE_RETENTION = "retention: {{events_days: 30, jobs_days: {jobs_days}, dedupe_days: 30}}\n"


def _requests(tag: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    bodies = [signed.body_for(tag, number) for number in range(count)]
    return [(body, signed.headers(body)) for body in bodies]


def _chunk(hook: str, tag: str, rate: float) -> list[tuple[float, load.Sent]]:
    """One chunk; each request with its scheduled send time on the perf_counter clock."""
    requests = _requests(tag, int(rate * CHUNK_SECONDS))
    # constant_rate schedules its first send 0.2 s after it is called.
    origin = time.perf_counter() + 0.2
    return [(origin + sent.due, sent) for sent in load.constant_rate(hook, requests, rate=rate)]


def prune_under_load(url: str, home: Path, args: Any) -> dict[str, Any]:
    """Time ``bridge prune`` on ``url`` and the ingest latency around it."""
    home.mkdir()
    web_config = stack.bench_config(home, "http://127.0.0.1:9")
    (home / "prune").mkdir()
    retention = PRUNE_RETENTION.format(jobs_days=args.prune_jobs_days)
    prune_config = stack.bench_config(home / "prune", "http://127.0.0.1:9", delivery=retention)
    web, base = stack.start_bridge_web(
        stack.bridge_env(url, web_config), home / "web.log", args.workers
    )
    hook = f"{base}/hooks/{signed.SOURCE}"
    sent: list[tuple[float, load.Sent]] = []
    window: dict[str, float] = {}
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < BASELINE_SECONDS:
            sent += _chunk(hook, f"pre{len(sent)}", args.prune_rate)
        prune = stack.Child(
            [sys.executable, "-m", "bridge.cli", "prune", "--json"],
            stack.bridge_env(url, prune_config),
            home / "prune.log",
        )
        window["start"] = time.perf_counter()

        def wait() -> None:
            prune.process.wait(args.prune_timeout)
            window["end"] = time.perf_counter()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        while waiter.is_alive():
            sent += _chunk(hook, f"during{len(sent)}", args.prune_rate)
        sent += _chunk(hook, f"post{len(sent)}", args.prune_rate)
        output = prune.output()
        prune.stop()
    finally:
        web.stop()
    end = window.get("end", float("inf"))
    phases: dict[str, list[load.Sent]] = {"before": [], "during": [], "after": []}
    for at, item in sent:
        phase = "before" if at < window["start"] else "during" if at <= end else "after"
        phases[phase].append(item)
    counts = next(
        (json.loads(line) for line in reversed(output.splitlines()) if line.startswith("{")),
        None,
    )
    return {
        "rate": args.prune_rate,
        "retention": retention.strip(),
        "prune_seconds": round(end - window["start"], 1),
        "prune_exit": prune.process.returncode,
        "deleted": counts,
        **{phase: load.summarise(items, args.prune_rate) for phase, items in phases.items()},
    }
