"""``bridge preview --source NAME PAYLOAD_FILE``: what the rules would do with a payload."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.config import ConfigError, load_config
from bridge.evaluation import PreviewError, content_type_for, preview
from bridge.settings import CONFIG_HELP, config_path
from bridge.sources.base import PayloadInvalid


def register(subparsers: Any) -> None:
    """Add the ``preview`` sub-command."""
    parser = subparsers.add_parser(
        "preview",
        help="show which rules a payload matches and the iVvy calls that would follow",
        description="Parse PAYLOAD_FILE as if it had arrived at /hooks/NAME (without checking "
        "its signature), run the rules, and print which matched, why the others did not, and "
        "the iVvy calls that would be made. Nothing is sent to iVvy. A .json file is sent as "
        "JSON; a .txt file as multipart (when it starts with a boundary line) or urlencoded. "
        "Exits 1 when the payload cannot be parsed or a matching rule cannot make its task.",
    )
    parser.add_argument("--source", required=True, metavar="NAME", help="the configured source")
    parser.add_argument("payload", metavar="PAYLOAD_FILE", help="the body the sender would post")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=CONFIG_HELP,
    )
    parser.add_argument("--json", action="store_true", help="print the full preview as JSON")
    parser.add_argument(
        "--now", metavar="ISO", help="pretend it is this time (ISO 8601 with an offset)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the preview; 0 when every matching rule makes a task, else 1."""
    path = config_path(args.config)
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("--now needs an offset, such as 2025-03-03T10:00:00+11:00")
        config = load_config(path)
        body = Path(args.payload).read_bytes()
        content_type, body = content_type_for(args.payload, body)
        result = preview(config, args.source, body, content_type, now)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except (OSError, ValueError, PreviewError, PayloadInvalid) as exc:
        print(f"bridge preview: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str) if args.json else as_text(result))
    return 1 if any(rule.get("error") for rule in result["rules"]) else 0


def as_text(result: dict[str, Any]) -> str:
    """The preview for a person: each rule's verdict, then the calls in order."""
    lines = [f"source {result['source']} ({result['source_type']})"]
    if "acknowledged" in result:
        return "\n".join([*lines, result["summary"]])
    event = result["event"]
    lines.append(f"event  {event['kind']} (id {event['external_id'] or 'none'})")
    if result.get("names"):
        lines.append("names  " + ", ".join(result["names"]))
    lines.append("")
    for rule in result["rules"]:
        verdict = {"error": "ERROR", "task": "MATCH"}.get(rule.get("verdict", ""), "no")
        lines.append(f"[{verdict}] {rule['rule']}")
        lines += [f"    - {reason}" for reason in rule["reasons"]]
        if rule["error"]:
            lines.append(f"    ! {rule['error']}")
        lines += [f"    ? {warning}" for warning in rule.get("warnings", [])]
        task = rule.get("task")
        if task:
            lines.append(f"    task: {task['name']!r}, due {task['due']} ({task['due_utc']} UTC)")
    if result["calls"]:
        lines += ["", "iVvy calls (nothing was sent):"]
        for number, call in enumerate(result["calls"], 1):
            kind = "look-up" if call["lookup"] else "write"
            when = f" [{call['when']}]" if call.get("when") else ""
            lines.append(f"  {number}. {call['call']} ({kind}, rule {call['rule']}){when}")
            lines.append(f"     {call['purpose']}")
            lines.append(f"     {json.dumps(call['body'], default=str)}")
    lines += ["", result["summary"]]
    return "\n".join(lines)
