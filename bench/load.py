"""Load generators: wrk (closed loop, saturation) and a constant-rate Python client."""

from __future__ import annotations

import http.client
import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_signed.lua"


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``; 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run_wrk(
    url: str, bodies: Path, *, seconds: int, connections: int, threads: int = 2
) -> dict[str, Any]:
    """wrk posting the signed bodies in ``bodies``; requests/s, latency percentiles, statuses."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(bodies),
        str(threads),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 120)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds_taken = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_taken, 2),
        "rps": round(raw["requests"] / seconds_taken, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "statuses": raw["statuses"],
        "errors": raw["errors"],
        "wrapped": raw["wrapped"],
        "connections": connections,
        "wrk_threads": threads,
    }


@dataclass
class Sent:
    """One request of a constant-rate run: its status and times (seconds)."""

    status: int
    latency: float  # from when it was due to be sent (no coordinated omission)
    service: float  # from when it was actually sent
    due: float


def _post(target: Any, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def constant_rate(
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    *,
    rate: float,
    threads: int = 64,
) -> list[Sent]:
    """Send ``requests`` at ``rate`` per second on a fixed schedule (an open-loop client).

    Latency counts from each request's scheduled time, so a slow answer that delays the
    following sends is charged to them as well (wrk2's correction for coordinated omission).
    """
    target = urlsplit(url)
    results: list[Sent | None] = [None] * len(requests)
    numbers = itertools.count()
    start = time.perf_counter() + 0.2

    def sender() -> None:
        while True:
            number = next(numbers)
            if number >= len(requests):
                return
            due = start + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            body, headers = requests[number]
            status = _post(target, body, headers)
            ended = time.perf_counter()
            results[number] = Sent(status, ended - due, ended - began, due - start)

    # A thread whose answer has arrived waits for the GIL; at CPython's default 5 ms
    # switch interval that wait, not the server, made most of the measured tail.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        pool = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    return [sent for sent in results if sent is not None]


def summarise(sent: list[Sent], rate: float) -> dict[str, Any]:
    """Statuses and latency percentiles (ms) of a constant-rate run."""
    statuses: dict[str, int] = {}
    for item in sent:
        statuses[str(item.status)] = statuses.get(str(item.status), 0) + 1
    latencies = [item.latency * 1000 for item in sent]
    services = [item.service * 1000 for item in sent]
    span = max((item.due for item in sent), default=0.0)
    return {
        "target_rps": rate,
        "requests": len(sent),
        "achieved_rps": round(len(sent) / (span + 1 / rate), 1) if sent else 0.0,
        "statuses": statuses,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies, default=0.0), 2),
        "service_p50_ms": round(percentile(services, 0.50), 2),
        "service_p99_ms": round(percentile(services, 0.99), 2),
    }
