"""Seeing before doing: the verdicts of :func:`evaluate_event` as JSON, and the calls to follow.

Nothing here calls iVvy or verifies the sender.  The verdicts are the worker's own
(``verdicts.py``); this module only adds what a person needs to read them: the task
as iVvy would get it, the planned calls, and the names the event provides.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.evaluation.action_calls import action_calls, action_json, update_open_calls
from bridge.evaluation.calls import planned_calls
from bridge.evaluation.verdicts import RuleVerdict, evaluate_event, summary
from bridge.events import Event
from bridge.rules.due import to_ivvy_utc
from bridge.rules.names import available_names
from bridge.rules.plan import TaskPlan
from bridge.rules.rule import Rule
from bridge.rules.templates import TemplateRenderError
from bridge.sources.base import Acknowledged, InboundRequest, media_type
from bridge.sources.decoding import decode_json
from bridge.task_status import TaskStatus

if TYPE_CHECKING:
    from bridge.config import Config

_SNS_HANDSHAKES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")


class PreviewError(ValueError):
    """The preview cannot run (an unknown source); the message is safe to show."""


def preview(
    config: Config, source_name: str, body: bytes, content_type: str, now: datetime
) -> dict[str, Any]:
    """What the bridge would do with ``body`` arriving at ``/hooks/<source_name>``, as JSON.

    Raises :class:`PreviewError` for an unknown source and the source's
    ``PayloadInvalid`` when the body cannot be parsed.
    """
    source = config.source(source_name)
    if source is None:
        known = ", ".join(sorted(config.sources)) or "none"
        raise PreviewError(f"no source named {source_name!r} (configured: {known})")
    out: dict[str, Any] = {"source": source_name, "source_type": source.type_name}
    if _is_sns_handshake(body):
        # Parsing a handshake confirms the subscription over HTTP: never from a preview.
        reason = "an SNS subscription handshake: the bridge would confirm it; preview does not"
        return {**out, "acknowledged": reason, "rules": [], "calls": [], "summary": reason}
    request = InboundRequest(
        body=body, headers={"content-type": content_type}, content_type=media_type(content_type)
    )
    result = source.parse(request, now)
    if isinstance(result, Acknowledged):
        return {
            **out,
            "acknowledged": result.reason,
            "rules": [],
            "calls": [],
            "summary": f"acknowledged without an event: {result.reason}",
        }
    return {**out, **preview_event(config, result.event, now), "dedupe_key": result.dedupe_key}


def preview_event(config: Config, event: Event, now: datetime) -> dict[str, Any]:
    """The preview JSON of a parsed event: ``event``, ``rules``, ``calls``, ``summary``..."""
    calendar = config.calendar()
    verdicts = evaluate_event(config, event, now, calendar=calendar)
    by_name = {rule.name: rule for rule in config.rules}
    context = event.context()
    rules = [
        _verdict_json(verdict, by_name[verdict.rule], context, calendar.tz_name)
        for verdict in verdicts
    ]
    calls = [{"rule": r["rule"], **call} for r in rules for call in r.get("calls", [])]
    return {
        "source": event.source,
        "source_type": event.source_type,
        "event": event.to_json(),
        "timezone": calendar.tz_name,
        "names": available_names(context),
        "rules": rules,
        "calls": calls,
        "summary": summary(verdicts),
    }


def _is_sns_handshake(body: bytes) -> bool:
    try:
        envelope = decode_json(body)
    except ValueError:  # not JSON, or JSON the source's own parse refuses with its reason
        return False
    return isinstance(envelope, dict) and envelope.get("Type") in _SNS_HANDSHAKES


def _verdict_json(
    verdict: RuleVerdict, rule: Rule, context: dict[str, Any], default_tz: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": verdict.rule,
        "matched": verdict.matched,
        "verdict": verdict.kind,
        "reasons": list(verdict.reasons),
        "error": verdict.error,
        "warnings": list(verdict.warnings),
    }
    if verdict.action is not None and verdict.error is None:
        out["action"] = action_json(verdict.action)
        out["calls"] = action_calls(verdict.action)
        return out
    if verdict.plan is None:
        return out
    try:
        venue = rule.timezone_venue(context)
    except TemplateRenderError:
        venue = None  # the engine's plan used the default calendar as well
    out["task"] = task_json(verdict.plan)
    out["calls"] = planned_calls(verdict.plan, venue, default_tz)
    if verdict.plan.update_open is not None:  # before the creation, which it may replace
        out["calls"][-1:-1] = update_open_calls(verdict.plan)
    return out


def task_json(plan: TaskPlan) -> dict[str, Any]:
    """A plan as preview shows it: name, description, due (local and UTC), owner..."""
    return {
        "name": plan.name,
        "description": plan.description,
        "due": plan.due.isoformat(),
        "due_utc": to_ivvy_utc(plan.due),
        "priority": plan.priority,
        "status": TaskStatus(plan.status).label if plan.status is not None else None,
        "assignee": list(plan.assignee.candidates) if plan.assignee else [],
        "owner": {k: v for k, v in dataclasses.asdict(plan.owner).items() if v not in (None, {})},
        "key": plan.key,
        "update_open": dataclasses.asdict(plan.update_open) if plan.update_open else None,
    }


def content_type_for(path: str | Path, body: bytes) -> tuple[str, bytes]:
    """The content type a payload file stands for, and its body as a sender would send it.

    ``.json``: JSON.  ``.txt``: multipart when it starts with a boundary line (line
    endings made CRLF as on the wire), else urlencoded.
    """
    if Path(path).suffix.lower() != ".txt":
        return "application/json", body
    first = body.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"--") and len(first) > 2:
        boundary = first[2:].decode("latin-1")
        if b"\r\n" not in body:
            body = body.replace(b"\n", b"\r\n")
        return f"multipart/form-data; boundary={boundary}", body
    return "application/x-www-form-urlencoded", body.strip()
