"""``bridge replay``: run events again (one by id, or by state, source and time window)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bridge.clock import utc_now
from bridge.settings import Settings
from bridge.store.diagnose import open_existing
from bridge.store.maintenance import replay_report
from bridge.store.states import EventState

REPLAYABLE_STATES = (EventState.DEAD, EventState.FAILED, EventState.NO_MATCH, EventState.DONE)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay`` sub-command."""
    parser = sub.add_parser(
        "replay",
        help="run stored events again (failed deliveries retried; done tasks never duplicated)",
        description="Queue the chosen events again: failed deliveries go back to pending, done "
        "ones stay done (no task is created twice). Choose events by id, or by --state, "
        "--source and a --since/--until window on their received time. Exits 1 when an event "
        "was skipped (unknown, unparsable, already queued) or on a database error.",
    )
    parser.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="events to replay")
    parser.add_argument("--state", choices=REPLAYABLE_STATES, help="events in this state")
    parser.add_argument("--source", metavar="NAME", help="events from this source")
    parser.add_argument("--since", metavar="ISO", help="received at or after (UTC if no offset)")
    parser.add_argument("--until", metavar="ISO", help="received before (UTC if no offset)")
    parser.add_argument(
        "--rules",
        choices=("current", "original"),
        default="current",
        help="the config's rules now, or the ones each event first ran with",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def parse_time(option: str, text: str | None) -> datetime | None:
    """An ISO 8601 date or time; one without an offset is taken as UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} is not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    """Replay and print each event replayed or skipped; 0 when none was skipped."""
    if args.event_ids and (args.state or args.source or args.since or args.until):
        print("bridge replay: give event ids or filters, not both", file=sys.stderr)
        return 2
    if not (args.event_ids or args.state or args.source or args.since or args.until):
        print(
            "bridge replay: give EVENT_ID... or --state/--source/--since/--until", file=sys.stderr
        )
        return 2
    try:
        since = parse_time("--since", args.since)
        until = parse_time("--until", args.until)
    except ValueError as exc:
        print(f"bridge replay: {exc}", file=sys.stderr)
        return 2
    # A dry run only reads; a replay writes, but to a database that must already exist.
    engine = open_existing(Settings.from_env().database_url)
    try:
        report = replay_report(
            engine,
            event_ids=args.event_ids or None,
            state=args.state,
            source=args.source,
            since=since,
            until=until,
            rules=args.rules,
            now=utc_now(),
            dry_run=args.dry_run,
        )
    finally:
        engine.dispose()
    print(json.dumps({**report, "dry_run": args.dry_run}) if args.json else as_text(report, args))
    return 1 if report["skipped"] else 0


def as_text(report: dict[str, Any], args: argparse.Namespace) -> str:
    """One line per event, then a count."""
    lines = [
        f"{'would replay' if args.dry_run else 'replayed'} {event_id}"
        for event_id in report["replayed"]
    ]
    lines += [f"skipped {item['event_id']}: {item['reason']}" for item in report["skipped"]]
    rules = "the rules each first ran with" if args.rules == "original" else "the current rules"
    count = len(report["replayed"])
    done = "would be replayed" if args.dry_run else "replayed"
    lines.append(f"{count} event{'s' if count != 1 else ''} {done}, with {rules}")
    return "\n".join(lines)
