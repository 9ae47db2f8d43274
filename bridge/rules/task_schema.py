"""The ``crm?action=addOrUpdateTask`` body, built from a TaskPlan and validated before any call.

Delivery calls :func:`build_task_payload` with real ids; preview, ``bridge check`` and the
engine call it with :func:`placeholder_owner` ids, so a rule that would produce a task iVvy
refuses fails there rather than at iVvy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bridge.rules.due import to_ivvy_utc
from bridge.rules.plan import OwnerPlan, TaskPlan
from bridge.task_status import STATUS_IDS

PRIORITIES = ("low", "medium", "high")
OWNER_FIELDS = ("leadId", "contactId", "companyId")
# Stands in for an id that only delivery can know (a contact found by email, a user by name).
PLACEHOLDER_ID = 999_999_999

# iVvy's timestamp; the " UTC" suffix is optional on input (and present in its answers).
_IVVY_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}( UTC)?$")
_ID = validate.Range(min=1, error="must be a positive id")


class TaskPayloadInvalid(ValueError):
    """The task body would be refused by iVvy; ``messages`` maps each field to its problems."""

    def __init__(self, messages: dict[str, Any]) -> None:
        parts = [f"{key}: {'; '.join(map(str, _flat(value)))}" for key, value in messages.items()]
        super().__init__("invalid task: " + ", ".join(parts))
        self.messages = messages


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [item for inner in value.values() for item in _flat(inner)]
    return [value]


class AddOrUpdateTaskSchema(Schema):
    """addOrUpdateTask as iVvy's Add or Update Task page describes it.

    A task belongs to one lead (or opportunity), contact or company.  ``contactId`` with
    ``companyId`` is allowed: iVvy adds the contact to the company and attaches the task to
    the company.  A lead with a contact or a company is refused (iVvy answers 24396).
    ``venueId`` may come without a lead (the page's own update example sends one with a
    contact and a company); it is required only with an opportunity, which
    :func:`build_task_payload` checks because only the owner tells an opportunity apart.

    https://developer.ivvy.com/crm/add-or-update-task
    """

    id = fields.Integer(strict=True, validate=_ID)
    venueId = fields.Integer(strict=True, validate=_ID)
    leadId = fields.Integer(strict=True, validate=_ID)
    contactId = fields.Integer(strict=True, validate=_ID)
    companyId = fields.Integer(strict=True, validate=_ID)
    name = fields.String()
    endDatetime = fields.String(
        validate=validate.Regexp(
            _IVVY_TIMESTAMP, error="must be UTC 'yyyy-mm-dd HH:MM:SS' (' UTC' may follow)"
        )
    )
    priority = fields.String(
        validate=validate.OneOf(PRIORITIES, error="must be low, medium or high")
    )
    status = fields.Integer(
        strict=True, validate=validate.OneOf(STATUS_IDS, error="must be a status id 0 to 4")
    )
    assignedUserId = fields.Integer(strict=True, validate=_ID)
    description = fields.String()

    @validates_schema
    def _task_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        creating = "id" not in data
        if creating and not str(data.get("name", "")).strip():
            errors["name"] = ["is required (and not blank) when creating a task"]
        if creating and "endDatetime" not in data:
            errors["endDatetime"] = ["is required when creating a task"]
        owners = [key for key in OWNER_FIELDS if key in data]
        if "leadId" in owners and len(owners) > 1:
            errors["_owner"] = [
                "a task belongs to a lead or to a contact or company, not both; "
                f"got {', '.join(owners)}"
            ]
        elif creating and not owners:
            errors["_owner"] = ["a task needs an owner: leadId, contactId or companyId"]
        if errors:
            raise ValidationError(errors)


ADD_OR_UPDATE_TASK = AddOrUpdateTaskSchema()


@dataclass(frozen=True)
class ResolvedOwner:
    """The task's owner once delivery has its id (an opportunity also has its venue id)."""

    kind: Literal["lead", "opportunity", "contact", "company"]
    id: int
    venue_id: int | None = None


def placeholder_owner(owner: OwnerPlan) -> ResolvedOwner:
    """The owner as far as it is known before any lookup; unknown ids are PLACEHOLDER_ID."""
    if owner.kind == "lead":
        kind: Literal["lead", "opportunity"] = "opportunity" if owner.venue_id else "lead"
        return ResolvedOwner(kind, owner.id or PLACEHOLDER_ID, owner.venue_id)
    if owner.kind in ("contact", "contact_email"):
        return ResolvedOwner("contact", owner.id or PLACEHOLDER_ID)
    if owner.kind in ("company", "company_name"):
        return ResolvedOwner("company", owner.id or PLACEHOLDER_ID)
    return ResolvedOwner("lead", PLACEHOLDER_ID)  # new_lead: the lead delivery creates


def placeholder_user(plan: TaskPlan) -> int | None:
    """The assignee as far as it is known before getUserList: an id, PLACEHOLDER_ID, or None."""
    if plan.assignee is None or not plan.assignee.candidates:
        return None
    first = plan.assignee.candidates[0]
    return first if isinstance(first, int) else PLACEHOLDER_ID


def build_task_payload(
    plan: TaskPlan, owner: ResolvedOwner, assigned_user_id: int | None = None
) -> dict[str, Any]:
    """The validated addOrUpdateTask body to create ``plan``; :class:`TaskPayloadInvalid` if not."""
    if owner.kind == "opportunity" and not owner.venue_id:
        raise TaskPayloadInvalid({"venueId": ["is required with an opportunity"]})
    body: dict[str, Any] = {"name": plan.name}
    try:
        body["endDatetime"] = to_ivvy_utc(plan.due)
    except ValueError as exc:
        raise TaskPayloadInvalid({"endDatetime": [str(exc)]}) from exc
    if plan.description:
        body["description"] = plan.description
    if plan.priority is not None:
        body["priority"] = plan.priority
    if plan.status is not None:
        body["status"] = plan.status
    if assigned_user_id is not None:
        body["assignedUserId"] = assigned_user_id
    if owner.kind in ("lead", "opportunity"):
        body["leadId"] = owner.id
        if owner.venue_id is not None:
            body["venueId"] = owner.venue_id
    else:
        body[f"{owner.kind}Id"] = owner.id
    return validate_task_payload(body)


def validate_task_payload(body: dict[str, Any]) -> dict[str, Any]:
    """Validate an addOrUpdateTask body as is; :class:`TaskPayloadInvalid` with the problems."""
    try:
        loaded: dict[str, Any] = ADD_OR_UPDATE_TASK.load(body)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_task": exc.messages}
        raise TaskPayloadInvalid(messages) from exc
    return {key: loaded[key] for key in body if key in loaded}
