"""Tasks: crm.addOrUpdateTask and crm.getTaskList, with iVvy's one-owner rule and codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.ivvy.sandbox.body_fields import (
    format_timestamp,
    int_field,
    parse_timestamp,
    require,
    str_field,
)
from bridge.ivvy.sandbox.collections import page_of
from bridge.ivvy.sandbox.errors import ApiError, required
from bridge.ivvy.sandbox.state import Record, SandboxState
from bridge.task_status import STATUS_IDS

LEAD_NOT_FOUND = 24389
CONTACT_NOT_FOUND = 24390
COMPANY_NOT_FOUND = 24391
TASK_NOT_FOUND = 24392
SAVE_FAILED = 24393  # "an error occurred"
OTHER_ERROR = 24394  # passed validation, then another error (see additionalMessages)
INVALID_DATA = 24395
ONE_OWNER_ONLY = 24396
PRIORITIES = ("low", "medium", "high")
ID_FIELDS = ("venueId", "leadId", "contactId", "companyId", "assignedUserId", "status")
OWNER_FIELDS = ("leadId", "contactId", "companyId", "companyContactId")
# What a MySQL TEXT column holds: iVvy's documents give no limit; the sandbox fails to save a
# longer description with 24393, the code iVvy documents as "an error occurred".
MAX_DESCRIPTION_BYTES = 65_535
ACTIVE = 1  # a user's currentStatus: 1 Active, 2 Inactive


def render_task(state: SandboxState, record: Mapping[str, Any]) -> dict[str, Any]:
    """A task as getTaskList returns it (assignee name and e-mail looked up)."""
    user = state.get("users", record.get("assignedUserId"))
    full_name = None
    if user is not None:
        full_name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
    return {
        **record,
        "assignedUserFullName": full_name,
        "assignedUserEmail": None if user is None else user.get("email"),
    }


def get_task_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """crm.getTaskList; a top-level ``venueId`` keeps that venue's tasks only.

    Without ``venueId`` the account's tasks are listed, but not those of a venue's opportunity:
    the page documents ``venueId`` as the list's parameter, and the sandbox takes the narrow
    reading, so a client that leaves it out when looking for an opportunity's task misses it.
    """
    venue_id = int_field(body, "venueId")
    tasks = [
        render_task(state, record)
        for _, record in sorted(state.table("tasks").items())
        if (record.get("venueId") == venue_id if venue_id is not None else not _on_venue(record))
    ]
    return page_of(tasks, body)


def _on_venue(task: Mapping[str, Any]) -> bool:
    """A task of an opportunity: a lead with a venue."""
    return task.get("leadId") is not None and task.get("venueId") is not None


def add_or_update_task(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """crm.addOrUpdateTask."""
    task_id = int_field(body, "id")
    ids = {name: int_field(body, name) for name in ID_FIELDS}
    for name in ("name", "endDatetime", "priority", "description"):
        str_field(body, name)
    record = state.get("tasks", task_id)
    if task_id is not None and record is None:
        raise ApiError(400, "Task does not exist", TASK_NOT_FOUND)
    if record is None:
        require(body, "name", "endDatetime")
    owner = _owner(state, ids, creating=record is None)
    changes: Record = {name: body[name] for name in ("name", "description") if name in body}
    changes.update(_checked_details(state, body, ids))
    _refuse_what_cannot_be_saved(state, changes)
    if owner is not None:
        _link_company_contact(state, owner)
        changes.update(owner)
    if ids["venueId"] is not None:
        # With a lead, _owner checked it is the opportunity's venue; otherwise it is kept as
        # given (the page's update example sends one with a contact and a company).
        changes["venueId"] = ids["venueId"]
    stamp = format_timestamp(now)
    if record is not None:
        record.update(changes, modifiedDate=stamp)
        return {"success": True, "id": record["id"]}
    created: Record = {
        "venueId": None, "bookingId": None, "description": None, "status": 0, "priority": None,
        "assignedUserId": None, "startDatetime": None, "progress": 0,
        **changes,
        "createdDate": stamp,
        "modifiedDate": stamp,
    }  # fmt: skip
    return {"success": True, "id": state.insert("tasks", created)["id"]}


def _invalid(detail: str) -> ApiError:
    return ApiError(400, "Request contains invalid data", INVALID_DATA, [detail])


def _checked_details(
    state: SandboxState, body: Mapping[str, Any], ids: Mapping[str, int | None]
) -> Record:
    details: Record = {}
    if body.get("endDatetime") is not None:
        due = parse_timestamp(body["endDatetime"])
        if due is None:
            raise _invalid("endDatetime must be a timestamp: yyyy-mm-dd HH:mm:ss (UTC)")
        details["endDatetime"] = format_timestamp(due)
    if body.get("priority") is not None:
        if body["priority"] not in PRIORITIES:
            raise _invalid("priority must be one of low, medium, high")
        details["priority"] = body["priority"]
    if ids["status"] is not None:
        if ids["status"] not in STATUS_IDS:
            raise _invalid("status must be 0, 1, 2, 3 or 4")
        details["status"] = ids["status"]
    if ids["assignedUserId"] is not None:
        if state.get("users", ids["assignedUserId"]) is None:
            raise _invalid("assignedUserId does not name a user")
        details["assignedUserId"] = ids["assignedUserId"]
    if ids["venueId"] is not None and state.get("venues", ids["venueId"]) is None:
        raise _invalid("venueId does not name a venue")
    return details


def _refuse_what_cannot_be_saved(state: SandboxState, changes: Mapping[str, Any]) -> None:
    """The data is valid, yet iVvy cannot store it: 24394 (with why) or 24393."""
    user = state.get("users", changes.get("assignedUserId"))
    if user is not None and user.get("currentStatus", ACTIVE) != ACTIVE:
        raise ApiError(
            400,
            "Data passed validation but another error occurred",
            OTHER_ERROR,
            ["The assigned user is not active"],
        )
    description = changes.get("description")
    if description is not None and len(description.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        raise ApiError(400, "An error occurred", SAVE_FAILED)


def _owner(state: SandboxState, ids: Mapping[str, int | None], *, creating: bool) -> Record | None:
    """The owner fields to store, or None to keep the task's current owner (update only)."""
    lead_id, contact_id, company_id = ids["leadId"], ids["contactId"], ids["companyId"]
    if lead_id is not None and (contact_id is not None or company_id is not None):
        raise ApiError(
            400,
            "A task may belong to only one of contact, company, or opportunity/lead",
            ONE_OWNER_ONLY,
        )
    if lead_id is None and contact_id is None and company_id is None:
        if creating:
            raise _invalid("A task must belong to a contact, a company or a lead/opportunity")
        return None
    owner: Record = dict.fromkeys(OWNER_FIELDS)
    if lead_id is not None:
        lead = state.get("leads", lead_id)
        if lead is None:
            raise ApiError(400, "Lead or opportunity does not exist", LEAD_NOT_FOUND)
        if lead.get("venueId") is not None:
            if ids["venueId"] is None:
                raise required("venueId")
            if ids["venueId"] != lead["venueId"]:
                raise ApiError(400, "Opportunity does not exist in that venue", LEAD_NOT_FOUND)
        return {**owner, "leadId": lead_id, "venueId": ids["venueId"]}
    contact = state.get("contacts", contact_id)
    if contact_id is not None and contact is None:
        raise ApiError(400, "Contact does not exist", CONTACT_NOT_FOUND)
    if company_id is not None and state.get("companies", company_id) is None:
        raise ApiError(400, "Company does not exist", COMPANY_NOT_FOUND)
    if company_id is None:
        return {**owner, "contactId": contact_id}
    return {**owner, "companyId": company_id, "companyContactId": contact_id}


def _link_company_contact(state: SandboxState, owner: Mapping[str, Any]) -> None:
    """iVvy adds a task's company contact to the company (the task belongs to the company)."""
    contact = state.get("contacts", owner.get("companyContactId"))
    company_id = owner.get("companyId")
    if contact is not None and company_id not in (contact.get("companies") or []):
        contact["companies"] = [*(contact.get("companies") or []), company_id]
