"""``bridge check --payloads DIR``: every rule against a folder of sample payloads.

A file's source is the start of its name, up to the first ``-`` or ``.``:
``website-enquiry.json`` is posted to the ``website`` source, ``ivvy-invoice-added.json``
to ``ivvy``.  ``.json`` files are sent as JSON, ``.txt`` as urlencoded or multipart (see
:func:`bridge.evaluation.content_type_for`); other files (a README) are skipped.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bridge.config import Config
from bridge.evaluation import PreviewError, content_type_for, preview
from bridge.sources.base import PayloadInvalid

PAYLOAD_SUFFIXES = (".json", ".txt")
_SOURCE_PREFIX = re.compile(r"^([^-.]+)")


def source_of(path: Path) -> str:
    """The source a payload file is posted to: its name up to the first ``-`` or ``.``."""
    found = _SOURCE_PREFIX.match(path.name)
    return found.group(1) if found else path.name


def check_payloads(config: Config, folder: Path, now: datetime) -> tuple[list[str], int]:
    """One line per file, rule error and warning, and the number of errors."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PAYLOAD_SUFFIXES)
    if not files:
        return [f"{folder}: no .json or .txt payloads"], 1
    lines: list[str] = []
    errors = 0
    for path in files:
        source = source_of(path)
        content_type, body = content_type_for(path, path.read_bytes())
        try:
            result = preview(config, source, body, content_type, now)
        except (PreviewError, PayloadInvalid) as exc:
            lines.append(f"{path.name}: ERROR {exc}")
            errors += 1
            continue
        lines.append(f"{path.name} → {source}: {result['summary']}")
        for rule in result["rules"]:
            if rule.get("error"):
                lines.append(f"  rule {rule['rule']}: ERROR {rule['error']}")
                errors += 1
            elif rule.get("verdict") == "task":
                lines.append(f"  rule {rule['rule']}: task {rule['task']['name']!r}")
            elif rule.get("verdict") == "action":
                action = rule["action"]
                of = ", ".join(action["tasks_of"])
                lines.append(f"  rule {rule['rule']}: {action['action']} the open tasks of {of}")
            lines += [f"  rule {rule['rule']}: warning: {w}" for w in rule.get("warnings", [])]
    return lines, errors
