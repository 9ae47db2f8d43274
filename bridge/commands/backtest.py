"""``bridge backtest --source NAME``: a config's rules on a source's last stored events."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bridge.backtest import Report, backtest
from bridge.config import ConfigError, load_config
from bridge.settings import Settings, config_path
from bridge.store.backtest_reads import MAX_LAST, recent_runs
from bridge.store.diagnose import open_existing


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` sub-command."""
    parser = sub.add_parser(
        "backtest",
        help="run a config's rules on a source's last stored events; nothing is sent",
        description="Evaluate the rules of the config in force (or --config FILE) on the last N "
        "events stored for a source, as the worker would (due dates from arrival), without "
        "sending anything or writing anything. Prints per rule how many events it matches, the "
        "tasks it would create and the errors it would hit, and where that differs from what "
        "happened to those events. Exits 1 when a rule would hit an error, or on a failure.",
    )
    parser.add_argument("--source", required=True, metavar="NAME", help="the configured source")
    parser.add_argument(
        "--last",
        type=int,
        default=50,
        metavar="N",
        help=f"the N newest events (50, at most {MAX_LAST})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the config to try (default $BRIDGE_CONFIG, else ./bridge.yaml)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; 0 unless a rule would hit an error (or the backtest cannot run)."""
    settings = Settings.from_env()
    path = config_path(args.config)
    if not 1 <= args.last <= MAX_LAST:
        return _fail(f"--last must be between 1 and {MAX_LAST}")
    try:
        config = load_config(path)
    except ConfigError as exc:
        more = len(exc.errors) - 1
        tail = f" (and {more} more: run `bridge check {path}`)" if more else ""
        return _fail(exc.errors[0] + tail)
    if config.source(args.source) is None:
        known = ", ".join(sorted(config.sources)) or "none"
        return _fail(f"no source named {args.source!r} in {path} (configured: {known})")
    engine = open_existing(settings.database_url)
    try:
        runs = recent_runs(engine, args.source, args.last)
    finally:
        engine.dispose()
    report = backtest(config, args.source, runs, args.last)
    print(json.dumps(report.to_json(), indent=2) if args.json else as_text(report))
    return 1 if any(tally.errors for tally in report.tallies.values()) else 0


def _fail(message: str) -> int:
    print(f"bridge backtest: {message}", file=sys.stderr)
    return 1


def as_text(report: Report) -> str:
    """A table per rule, the errors it would hit, then each difference."""
    lines = [
        f"backtest of {report.source}: the last {report.last} events, rules of {report.config_path}"
        " (nothing was sent)",
        "",
        f"{'rule':<32} {'matched':>7} {'tasks':>6} {'errors':>6} {'differ':>6}",
    ]
    for tally in report.tallies.values():
        lines.append(
            f"{tally.rule:<32} {tally.matched:>7} {tally.tasks:>6} "
            f"{sum(tally.errors.values()):>6} {tally.differences:>6}"
        )
        lines += [f"    {count} x {error}" for error, count in tally.errors.most_common()]
        lines += [
            f"    {count} x warning: {warning}" for warning, count in tally.warnings.most_common()
        ]
    if report.differences:
        lines += ["", "differences from what happened:"]
        lines += [_difference_line(d.to_json()) for d in report.differences]
    lines += ["", report.summary]
    return "\n".join(lines)


def _difference_line(found: dict[str, Any]) -> str:
    return f"  {found['event']}  {found['received_at']}  {found['rule']}: {found['summary']}"
