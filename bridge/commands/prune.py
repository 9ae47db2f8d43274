"""``bridge prune``: delete rows older than the config's retention."""

from __future__ import annotations

import argparse
import json
import sys

from bridge.clock import utc_now
from bridge.config import ConfigError, load_config
from bridge.settings import CONFIG_HELP, Settings, config_path
from bridge.store.diagnose import open_existing
from bridge.store.maintenance import prune


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``prune`` sub-command."""
    parser = sub.add_parser(
        "prune",
        help="delete events, jobs, dedupe keys and circuit periods past the config's retention",
        description="Apply the `retention` section of $BRIDGE_CONFIG to $DATABASE_URL: events "
        "(with their deliveries, jobs and attempts) after events_days unless a job is still "
        "queued, done and dead jobs after jobs_days, dedupe keys after dedupe_days and never "
        "before their event, the iVvy circuit's ended open periods after events_days but "
        "never within the overview's 7 days. Deletes in short batches.",
    )
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prune and print the rows deleted per table; 1 on a config or database error."""
    settings = Settings.from_env()
    try:
        retention = load_config(config_path(args.config)).retention
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    engine = open_existing(settings.database_url)
    try:
        counts = prune(engine, retention, now=utc_now(), dry_run=args.dry_run)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({**counts, "dry_run": args.dry_run}))
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    print(", ".join(f"{verb} {count} {table}" for table, count in counts.items()))
    return 0
