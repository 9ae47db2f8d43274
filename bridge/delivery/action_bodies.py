"""The pieces of an action's addOrUpdateTask body that make a second send harmless.

A description is always sent whole: the task's current text plus one line ending with the
action's marker, which is how a re-run knows the line is already there.
"""

from __future__ import annotations

from typing import Any

from bridge.rules.plan import TaskChanges
from bridge.store.task_actions import TaskRef


def new_description(
    ref: TaskRef, current: dict[str, Any], changes: TaskChanges, marker: str
) -> str:
    """The whole new description, ending with this action's marker."""
    if changes.description is not None:
        # The creation marker stays, so the task is still recognisably the bridge's.
        created = marker_line(str(ref.body.get("description") or ""))
        text = f"{changes.description}\n\n{created}".strip()
    else:
        text = str(current.get("description") or "").rstrip()
    line = f"{changes.append} {marker}" if changes.append else marker
    return f"{text}\n{line}".strip()


def marker_line(description: str) -> str:
    lines = [line for line in description.splitlines() if line.startswith("[bridge ")]
    return lines[-1] if lines else ""


def applied(body: dict[str, Any], current: dict[str, Any], marker: str) -> bool:
    """Whether the task already shows every change ``body`` makes."""
    for name, wanted in body.items():
        if name in ("id", "venueId"):
            continue
        have = current.get(name)
        if name == "description":
            if marker not in str(have or ""):
                return False
        elif name == "endDatetime":
            if str(have or "").removesuffix(" UTC") != str(wanted).removesuffix(" UTC"):
                return False
        elif str(have) != str(wanted):
            return False
    return True
