"""CPU of the request's log line: this checkout's formatter against another checkout's.

Formats the line an accepted webhook writes (``webhook accepted`` with its request id, method,
path, status, duration, source and event id) with each checkout's ``bridge/logs.py``, loaded
from its file, in alternating rounds in one process; and the same for a line whose values do
carry an email and a phone number, so that the slow path is measured too.

    git worktree add --detach /tmp/w/base HEAD~1
    .venv/bin/python bench/log_line.py --base /tmp/w/base
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine

SECRETS = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "form-secret-value-1234",
    "ivvy-api-secret-xyz",
]
ACCEPTED = {
    "request_id": "3f2a9c1e8b7d4a60",
    "method": "POST",
    "path": "/hooks/typeform-enquiries",
    "status": 202,
    "duration_ms": 1.3,
    "source": "typeform-enquiries",
    "event_id": "ev_01JGZ8Q4W5X6Y7Z8A9B0C1D2E3",
}
PERSONAL = {**ACCEPTED, "reason": "contact jane.quietly@example.org on +61 400 987 654 failed"}


def _load(checkout: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, checkout / "bridge" / "logs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(fields: dict[str, object]) -> logging.LogRecord:
    record = logging.LogRecord(
        "bridge.request", logging.INFO, __file__, 1, "webhook accepted", (), None
    )
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def _us_per_line(module: ModuleType, record: logging.LogRecord, lines: int) -> float:
    formatter = module.JsonFormatter(module.Redactor(SECRETS))
    started = time.process_time()
    for _ in range(lines):
        formatter.format(record)
    return (time.process_time() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    modules = {"base": _load(args.base, "logs_base"), "this": _load(here, "logs_this")}
    result: dict[str, Any] = {"base": machine.commit_of(args.base), "lines": args.lines}
    for label, fields in (("accepted", ACCEPTED), ("with email and phone", PERSONAL)):
        record = _record(fields)
        seen: dict[str, list[float]] = {name: [] for name in modules}
        for _ in range(args.rounds):
            for name, module in modules.items():
                seen[name].append(_us_per_line(module, record, args.lines))
        base, this = (statistics.median(seen[n]) for n in ("base", "this"))
        result[label] = {"us_per_line": seen, "this_over_base": round(this / base, 3)}
        rounds = {n: " ".join(f"{v:.1f}" for v in seen[n]) for n in seen}
        print(
            f"{label}: base {base:.1f} us ({rounds['base']}), this {this:.1f} us "
            f"({rounds['this']}), this / base {this / base:.2f}"
        )
    print(f"appended to {machine.record('log_line', result)}")


if __name__ == "__main__":
    main()
