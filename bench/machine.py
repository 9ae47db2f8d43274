"""What machine a benchmark ran on, and where its results go (JSON lines in bench/results/)."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# An exported tree (git archive HEAD, to measure exactly what is committed while others edit
# the work tree) can send its results back with BENCH_RESULTS and name its commit BENCH_COMMIT.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or REPO / "bench" / "results")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def commit_of(checkout: Path = REPO) -> str:
    """The short commit ``checkout`` has out, marked if its ``bridge/`` has uncommitted changes."""
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", "bridge"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() + ("+uncommitted bridge/ changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _git_commit() -> str:
    return os.environ.get("BENCH_COMMIT") or commit_of(REPO)


def fsync_ms(directory: Path, count: int = 200) -> dict[str, float]:
    """Median and 99th percentile of write + fdatasync of 4 KB in ``directory``: the floor
    under every durable commit on this disk."""
    path = directory / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fdatasync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return {"p50": round(times[len(times) // 2], 3), "p99": round(times[int(len(times) * 0.99)], 3)}


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every number."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def describe() -> dict[str, Any]:
    """nproc, memory, CPU model, versions and the commit measured."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": _git_commit(),
        "load_average_at_end": load_average(),
    }


def record(benchmark: str, result: dict[str, Any]) -> Path:
    """Append one run's result, with the machine it ran on, to bench/results/<benchmark>.jsonl."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{benchmark}.jsonl"
    line = json.dumps({"benchmark": benchmark, "machine": describe(), **result}, default=str)
    with path.open("a") as out:
        out.write(line + "\n")
    return path
