"""``bridge check [FILE]``: validate the config file and list what it defines, offline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.commands._payloads import check_payloads
from bridge.config import Config, ConfigError, load_config
from bridge.rules.plan import AssigneePlan, OwnerPlan, TaskPlan
from bridge.rules.task_schema import (
    PLACEHOLDER_ID,
    TaskPayloadInvalid,
    build_task_payload,
    placeholder_owner,
    placeholder_user,
)
from bridge.settings import config_path


def register(subparsers: Any) -> None:
    """Add the ``check`` sub-command."""
    parser = subparsers.add_parser(
        "check",
        help="validate the config file and list its sources and rules",
        description="Validate the config file (FILE or --config, else $BRIDGE_CONFIG, else "
        "./bridge.yaml) and list its sources "
        "and rules. Exits 1 and prints every error, each with its file:line, if it is invalid.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="the YAML config file")
    parser.add_argument("--config", metavar="FILE", help="the same as FILE")
    parser.add_argument(
        "--payloads",
        metavar="DIR",
        help="also run every rule on each sample payload in DIR (a file's source is its name "
        "up to the first '-': website-enquiry.json goes to 'website'); exit 1 on any error",
    )
    parser.add_argument(
        "--now", metavar="ISO", help="with --payloads: pretend it is this time (with an offset)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate; print a summary (exit 0) or every error (exit 1)."""
    path = config_path(args.file or args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        count = len(exc.errors)
        print(f"{path}: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    problems = task_problems(config)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return 1
    print(summary(config))
    if args.payloads:
        return _payloads(config, Path(args.payloads), args.now)
    return 0


def _payloads(config: Config, folder: Path, now_text: str | None) -> int:
    try:
        now = datetime.fromisoformat(now_text) if now_text else datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("--now needs an offset, such as 2025-03-03T10:00:00+11:00")
        lines, errors = check_payloads(config, folder, now)
    except (OSError, ValueError) as exc:
        print(f"bridge check: {exc}", file=sys.stderr)
        return 1
    print("", f"Payloads in {folder}:", *lines, sep="\n")
    if errors:
        print(f"{folder}: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
        return 1
    return 0


def summary(config: Config) -> str:
    """The sources and rules a valid config defines, as text."""
    ivvy = config.ivvy
    lines = [f"{config.path}: OK (iVvy {ivvy.base_url}, timezone {ivvy.timezone})", ""]
    lines.append(f"Sources ({len(config.sources)}):")
    rows = [
        (name, source.type_name, f"POST /hooks/{name}") for name, source in config.sources.items()
    ]
    lines += _table(sorted(rows))
    lines += ["", f"Rules ({len(config.rules)}):"]
    for rule in config.rules:
        trigger = rule.trigger
        on = "source " + ", ".join(trigger.sources) if trigger.sources else "any source"
        if trigger.kinds:
            on += ", kind " + ", ".join(trigger.kinds)
        lines.append(f"  {rule.name}")
        lines.append(f"    on     {on}{' (with conditions)' if rule.when is not None else ''}")
        if rule.owner is not None:
            lines.append(f"    owner  {rule.owner.describe()}")
        if rule.task is not None:
            lines.append(f"    due    {rule.task.due.text}")
            if rule.task.key is not None:
                open_ = ", its open task updated by later events" if rule.task.update_open else ""
                lines.append(f"    key    {rule.task.key.source}{open_}")
        if rule.action is not None:
            lines.append(f"    does   {rule.action.describe()}")
    if not config.rules:
        lines.append("  (none: events are stored but no task is created)")
    return "\n".join(lines)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    out = []
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.append(("  " + "  ".join(cells)).rstrip())
    return out


def task_problems(config: Config) -> list[str]:
    """Each rule's task checked as an addOrUpdateTask body, with placeholder ids and texts."""
    problems = []
    due = datetime(2030, 1, 7, 9, tzinfo=UTC)  # any valid moment: due dates depend on events
    for rule in config.rules:
        spec = rule.owner
        if rule.task is None or spec is None:
            continue  # an action: its addOrUpdateTask bodies carry only what it changes
        venue = PLACEHOLDER_ID if (spec.venue is not None or spec.key == "opportunity") else None
        owner = OwnerPlan(kind=spec.plan_kind, venue_id=venue)
        assignees = tuple(a if isinstance(a, int) else PLACEHOLDER_ID for a in rule.task.assignees)
        plan = TaskPlan(
            rule=rule.name,
            name=rule.task.name.source,
            due=due,
            owner=owner,
            description=rule.task.description.source if rule.task.description else "",
            priority=rule.task.priority,
            status=rule.task.status,
            assignee=AssigneePlan(assignees) if assignees else None,
        )
        try:
            build_task_payload(plan, placeholder_owner(owner), placeholder_user(plan))
        except TaskPayloadInvalid as exc:
            problems.append(f"{config.path}: rule {rule.name}: {exc}")
    return problems
