"""What the event page shows beyond the stored rows: rule explanations, redaction, iVvy links."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bridge.config import Config
from bridge.evaluation import evaluate_event
from bridge.events import Event
from bridge.logs import Redactor
from bridge.rules.names import available_names

# Where a task opens in the iVvy web app, below the account's web address.
TASK_PATH = "/crm/task/view?id={task_id}"
_ERROR_KEYS = ("last_error", "error", "reason")


@dataclass(frozen=True)
class RuleExplanation:
    """One rule's verdict on the stored event, with the current rules."""

    rule: str
    matched: bool
    reasons: tuple[str, ...]
    error: str | None
    task_name: str | None
    warnings: tuple[str, ...] = ()
    action: str | None = None  # what a rule that acts on earlier tasks does, in words


def explain_rules(config: Config, stored_event: dict[str, Any] | None) -> list[RuleExplanation]:
    """Re-run the current rules on a stored event, as of when it arrived (no iVvy calls)."""
    if stored_event is None:
        return []
    event = Event.from_json(stored_event)
    outcomes = evaluate_event(config, event, event.received_at)
    return [
        RuleExplanation(
            o.rule,
            o.matched,
            tuple(o.reasons),
            o.error,
            o.plan.name if o.plan is not None else None,
            o.warnings,
            (
                f"{o.action.action} the open tasks of {', '.join(o.action.of_rules)}"
                if o.action is not None
                else None
            ),
        )
        for o in outcomes
    ]


def event_names(stored_event: dict[str, Any] | None) -> list[str]:
    """The names rules can read on a stored event (``guests``, ``answers.guests``...)."""
    if stored_event is None:
        return []
    return available_names(Event.from_json(stored_event).context())


def task_link(web_url: str | None, task_id: int | None) -> str | None:
    """The task's address in the iVvy web app, when the account's web address is configured."""
    if not web_url or task_id is None:
        return None
    return web_url.rstrip("/") + TASK_PATH.format(task_id=int(task_id))


def redactor_for(secrets: Iterable[str | None]) -> Redactor:
    """A redactor for the runtime's secrets (plus emails, phone numbers and signatures)."""
    return Redactor(s for s in secrets if s)


def redact_rows(rows: Iterable[dict[str, Any]], redact: Redactor) -> list[dict[str, Any]]:
    """The rows with their error texts redacted."""
    out = []
    for row in rows:
        clean = dict(row)
        for key in _ERROR_KEYS:
            if isinstance(clean.get(key), str):
                clean[key] = redact(clean[key])
        out.append(clean)
    return out


def local_time(value: str | datetime | None, tz_name: str) -> str:
    """An ISO timestamp as ``2024-05-14 14:03:07 AEST`` in the account's timezone."""
    if value is None or value == "":
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%d %H:%M:%S %Z")


def age(seconds: float | None) -> str:
    """A duration in words: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"
