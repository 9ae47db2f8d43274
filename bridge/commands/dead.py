"""``bridge dead``: the dead jobs waiting for a person, with the reason each one died."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bridge.settings import Settings
from bridge.store.diagnose import open_existing
from bridge.store.maintenance import dead_jobs


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``dead`` sub-command."""
    parser = sub.add_parser(
        "dead",
        help="list dead jobs and why they died",
        description="Dead jobs not yet replayed, most recently dead first. Fix the cause, then "
        "`bridge replay EVENT_ID` (or `bridge replay --state dead`).",
    )
    parser.add_argument("--source", metavar="NAME", help="only events from this source")
    parser.add_argument("--limit", type=int, default=100, metavar="N", help="at most N (100)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the dead jobs; 0 even when there are some (1 only on a database error).

    Reads only: a missing database is reported, never created (``bridge.cli`` says why).
    """
    engine = open_existing(Settings.from_env().database_url)
    try:
        found = dead_jobs(engine, limit=args.limit, source=args.source)
    finally:
        engine.dispose()
    print(json.dumps(found) if args.json else as_text(found))
    return 0


def as_text(found: list[dict[str, Any]]) -> str:
    """Two lines per job: what and when, then the reason."""
    if not found:
        return "no dead jobs"
    lines = []
    for job in found:
        lines.append(
            f"{job['finished_at']}  {job['event_id']}  {job['source']}  {job['kind']}  "
            f"attempts={job['attempts']}"
        )
        lines.append(f"    {job['reason'] or 'no reason recorded'}")
    lines.append(f"{len(found)} dead job{'s' if len(found) != 1 else ''}")
    return "\n".join(lines)
