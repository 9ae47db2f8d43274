"""The iVvy calls a verdict's task would take, as preview lists them (nothing is sent).

Look-ups only delivery can make (a contact by email, a user by name, a venue's
timezone) are listed as planned; the ids they would return appear as ``<...>``
placeholders in the bodies that use them.
"""

from __future__ import annotations

from typing import Any

from bridge.rules.plan import OwnerPlan, TaskPlan
from bridge.rules.task_schema import (
    PLACEHOLDER_ID,
    TaskPayloadInvalid,
    build_task_payload,
    placeholder_owner,
    placeholder_user,
)

_OWNER_PLACEHOLDERS = {
    "contact_email": "<id of the contact found by email{created}>",
    "company_name": "<id of the company found by name>",
    "new_lead": "<id of the new lead>",
}


def planned_calls(plan: TaskPlan, venue: int | None, default_tz: str) -> list[dict[str, Any]]:
    """The calls delivery makes for ``plan``, in order: look-ups, creations, the task."""
    calls: list[dict[str, Any]] = []
    if venue is not None:
        calls.append(
            call(
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
        call(
            "crm",
            "addOrUpdateTask",
            task_body(plan),
            purpose="create the task (delivery adds a marker line to the description)",
        )
    )
    return calls


def call(
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
            call(
                "contact",
                "getCompanyList",
                body,
                lookup=True,
                purpose="find the company by business name",
            )
        )
    if owner.kind in ("contact_email", "new_lead"):
        calls.append(
            call(
                "contact",
                "getContactList",
                {"filter": {"email": owner.email}},
                lookup=True,
                purpose="find the contact by email",
            )
        )
        if owner.create_contact:
            calls.append(
                call(
                    "contact",
                    "addOrUpdateContact",
                    dict(owner.contact_fields),
                    when="only when no contact has this email",
                    purpose="create the contact",
                )
            )
    if owner.kind == "new_lead":
        lead = {**owner.lead_fields, "contactId": "<id of the contact found or created>"}
        calls.append(call("contact", "addOrUpdateLead", lead, purpose="create the lead"))
    return calls


def _assignee_calls(plan: TaskPlan) -> list[dict[str, Any]]:
    if plan.assignee is None or all(isinstance(c, int) for c in plan.assignee.candidates):
        return []
    return [
        call(
            "account",
            "getUserList",
            {},
            lookup=True,
            purpose="resolve the assignee by email or full name (cached)",
        )
    ]


def task_body(plan: TaskPlan) -> dict[str, Any]:
    """The addOrUpdateTask body preview shows: unknown ids as ``<...>`` placeholders."""
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
