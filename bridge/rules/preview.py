"""Seeing before doing: which rules a payload matches, and the iVvy calls that would follow.

Nothing here calls iVvy or verifies the sender.  Look-ups that only delivery can do
(a contact by email, a user by name, a venue's timezone) are listed as planned, and
ids they would return appear as ``<...>`` placeholders in the bodies that use them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.rules.due import to_ivvy_utc
from bridge.rules.engine import evaluate
from bridge.rules.plan import OwnerPlan, RuleOutcome, TaskPlan
from bridge.rules.rule import Rule
from bridge.rules.task_schema import (
    PLACEHOLDER_ID,
    TaskPayloadInvalid,
    build_task_payload,
    placeholder_owner,
    placeholder_user,
)
from bridge.rules.templates import TemplateRenderError
from bridge.sources.base import Acknowledged, InboundRequest
from bridge.sources.decoding import decode_json

if TYPE_CHECKING:
    from bridge.config import Config

STATUS_NAMES = ("Not Started", "In Progress", "On Hold", "Cancelled", "Completed")
_OWNER_PLACEHOLDERS = {
    "contact_email": "<id of the contact found by email{created}>",
    "company_name": "<id of the company found by name>",
    "new_lead": "<id of the new lead>",
}


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
    mimetype = content_type.split(";", 1)[0].strip().lower()
    request = InboundRequest(
        body=body, headers={"content-type": content_type}, content_type=mimetype
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
    calendar = config.calendar()
    outcomes = evaluate(result.event, config.rules, now=now, calendar=calendar)
    by_name = {rule.name: rule for rule in config.rules}
    context = result.event.context()
    rules = [
        _outcome_json(outcome, by_name[outcome.rule], context, calendar.tz_name)
        for outcome in outcomes
    ]
    calls = [{"rule": r["rule"], **call} for r in rules for call in r.get("calls", [])]
    return {
        **out,
        "event": result.event.to_json(),
        "dedupe_key": result.dedupe_key,
        "timezone": calendar.tz_name,
        "rules": rules,
        "calls": calls,
        "summary": _summary(outcomes),
    }


def _is_sns_handshake(body: bytes) -> bool:
    try:
        envelope = decode_json(body)
    except ValueError:  # not JSON, or JSON the source's own parse refuses with its reason
        return False
    return isinstance(envelope, dict) and envelope.get("Type") in _SNS_HANDSHAKES


def _summary(outcomes: list[RuleOutcome]) -> str:
    matched = [o for o in outcomes if o.matched]
    tasks = sum(1 for o in matched if o.plan is not None)
    errors = sum(1 for o in matched if o.error)
    return (
        f"{len(matched)} of {len(outcomes)} rules matched; "
        f"{tasks} task{'s' if tasks != 1 else ''} would be created; "
        f"{errors} error{'s' if errors != 1 else ''}"
    )


def _outcome_json(
    outcome: RuleOutcome, rule: Rule, context: dict[str, Any], default_tz: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": outcome.rule,
        "matched": outcome.matched,
        "reasons": list(outcome.reasons),
        "error": outcome.error,
    }
    if outcome.plan is None:
        return out
    plan = outcome.plan
    calls: list[dict[str, Any]] = []
    try:
        venue = rule.timezone_venue(context)
    except TemplateRenderError:
        venue = None  # the engine's plan used the default calendar as well
    if venue is not None:
        calls.append(
            _call(
                "venue",
                "getVenueList",
                {},
                lookup=True,
                purpose=f"the timezone of venue {venue} (this preview used {default_tz})",
            )
        )
    calls += _owner_calls(plan.owner)
    calls += _assignee_calls(plan)
    calls.append(
        _call(
            "crm",
            "addOrUpdateTask",
            _task_body(plan),
            purpose="create the task (delivery adds a marker line to the description)",
        )
    )
    out["task"] = _task_json(plan)
    out["calls"] = calls
    return out


def _task_json(plan: TaskPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "description": plan.description,
        "due": plan.due.isoformat(),
        "due_utc": to_ivvy_utc(plan.due),
        "priority": plan.priority,
        "status": STATUS_NAMES[plan.status] if plan.status is not None else None,
        "assignee": list(plan.assignee.candidates) if plan.assignee else [],
        "owner": {k: v for k, v in dataclasses.asdict(plan.owner).items() if v not in (None, {})},
    }


def _call(
    namespace: str,
    action: str,
    body: dict[str, Any],
    *,
    purpose: str,
    lookup: bool = False,
    when: str | None = None,
) -> dict[str, Any]:
    call: dict[str, Any] = {"call": f"{namespace}?action={action}", "body": body, "lookup": lookup}
    if when:
        call["when"] = when
    call["purpose"] = purpose
    return call


def _owner_calls(owner: OwnerPlan) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    if owner.kind == "company_name":
        body = {"filter": {"businessName": owner.business_name}}
        calls.append(
            _call(
                "contact",
                "getCompanyList",
                body,
                lookup=True,
                purpose="find the company by business name",
            )
        )
    if owner.kind in ("contact_email", "new_lead"):
        calls.append(
            _call(
                "contact",
                "getContactList",
                {"filter": {"email": owner.email}},
                lookup=True,
                purpose="find the contact by email",
            )
        )
        if owner.create_contact:
            calls.append(
                _call(
                    "contact",
                    "addOrUpdateContact",
                    dict(owner.contact_fields),
                    when="only when no contact has this email",
                    purpose="create the contact",
                )
            )
    if owner.kind == "new_lead":
        lead = {**owner.lead_fields, "contactId": "<id of the contact found or created>"}
        calls.append(_call("contact", "addOrUpdateLead", lead, purpose="create the lead"))
    return calls


def _assignee_calls(plan: TaskPlan) -> list[dict[str, Any]]:
    if plan.assignee is None or all(isinstance(c, int) for c in plan.assignee.candidates):
        return []
    return [
        _call(
            "account",
            "getUserList",
            {},
            lookup=True,
            purpose="resolve the assignee by email or full name (cached)",
        )
    ]


def _task_body(plan: TaskPlan) -> dict[str, Any]:
    owner = placeholder_owner(plan.owner)
    try:
        body = build_task_payload(plan, owner, placeholder_user(plan))
    except TaskPayloadInvalid as exc:  # the engine checked this already; keep the preview whole
        return {"invalid": str(exc)}
    owner_field = "leadId" if owner.kind in ("lead", "opportunity") else f"{owner.kind}Id"
    if body.get(owner_field) == PLACEHOLDER_ID:
        created = " or created" if plan.owner.create_contact else ""
        body[owner_field] = _OWNER_PLACEHOLDERS[plan.owner.kind].format(created=created)
    if body.get("assignedUserId") == PLACEHOLDER_ID and plan.assignee is not None:
        candidates = plan.assignee.candidates
        who = (
            candidates[0]
            if len(candidates) == 1
            else "the next in turn of " + ", ".join(map(str, candidates))
        )
        body["assignedUserId"] = f"<user id of {who}>"
    return body


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
