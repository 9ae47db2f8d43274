"""What preview shows for a rule that acts on earlier tasks, and for a task's ``update_open``.

Which tasks are open is in the bridge's own records and in iVvy, neither of which preview
reads: the calls name the tasks they would touch (``<id of each open task ...>``).
"""

from __future__ import annotations

from typing import Any

from bridge.evaluation.calls import call
from bridge.rules.due import to_ivvy_utc
from bridge.rules.plan import ActionPlan, TaskChanges, TaskPlan
from bridge.task_status import TaskStatus

_VERBS = {"complete": "complete", "cancel": "cancel", "update": "update"}


def action_json(action: ActionPlan) -> dict[str, Any]:
    """An action as preview shows it: what, on which rules' tasks, found how, setting what."""
    by: dict[str, Any] = {}
    if action.key is not None:
        by["key"] = action.key
    if action.owner is not None:
        owner = {k: v for k, v in vars(action.owner).items() if v not in (None, {}, False)}
        by["owner"] = owner
    return {
        "action": action.action,
        "tasks_of": list(action.of_rules),
        "by": by,
        "within_days": action.within_days,
        "sets": changes_json(action.changes),
    }


def changes_json(changes: TaskChanges) -> dict[str, Any]:
    """The fields an action sets, as iVvy names them (the description's line as a line)."""
    out: dict[str, Any] = {}
    if changes.status is not None:
        out["status"] = TaskStatus(changes.status).label
    if changes.due is not None:
        out["endDatetime"] = to_ivvy_utc(changes.due)
    for name in ("name", "description", "priority"):
        if getattr(changes, name) is not None:
            out[name] = getattr(changes, name)
    if changes.append:
        out["append"] = changes.append
    if changes.assignee is not None:
        out["assignee"] = list(changes.assignee.candidates)
    return out


def action_calls(action: ActionPlan) -> list[dict[str, Any]]:
    """The calls delivery makes for ``action``, for each open task it finds."""
    found = f"the open tasks of {', '.join(action.of_rules)}"
    found += f" with key {action.key!r}" if action.key is not None else " of this owner"
    calls: list[dict[str, Any]] = []
    owner = action.owner
    if owner is not None and owner.kind == "contact_email":
        body = {"filter": {"email": owner.email}}
        calls.append(call("contact", "getContactList", body, lookup=True,
                          purpose="find the contact whose tasks the bridge made"))  # fmt: skip
    if owner is not None and owner.kind == "company_name":
        body = {"filter": {"businessName": owner.business_name}}
        calls.append(call("contact", "getCompanyList", body, lookup=True,
                          purpose="find the company whose tasks the bridge made"))  # fmt: skip
    task = f"<id of each of {found}>"
    calls.append(
        call("crm", "getTaskList", {"filter": {"id": task}}, lookup=True,
             purpose=f"read each of {found} (the bridge's own records say which): a task a "
             "person completed or cancelled is left alone")
    )  # fmt: skip
    if action.changes.assignee is not None and not all(
        isinstance(c, int) for c in action.changes.assignee.candidates
    ):
        purpose = "resolve the assignee by email or full name (cached)"
        calls.append(call("account", "getUserList", {}, lookup=True, purpose=purpose))
    calls.append(
        call("crm", "addOrUpdateTask", {"id": task, **_body(action.changes)},
             when="for each task still open",
             purpose=f"{_VERBS[action.action]} it, once for this event")
    )  # fmt: skip
    return calls


def update_open_calls(plan: TaskPlan) -> list[dict[str, Any]]:
    """The calls before creating a task whose key may already have an open one."""
    assert plan.update_open is not None
    task = f"<id of rule {plan.rule}'s open task with key {plan.key!r}>"
    days = plan.update_open.within_days
    recent = f", made for an event in the last {days} days" if days else ""
    changes = TaskChanges(due=plan.due, append=plan.update_open.append or None)
    return [
        call("crm", "getTaskList", {"filter": {"id": task}}, lookup=True,
             when=f"only when the key has an open task{recent} (the bridge's records say)",
             purpose="read it: closed in iVvy means a new task is created instead"),
        call("crm", "addOrUpdateTask", {"id": task, **_body(changes)},
             when="only when that task is still open; then no task is created",
             purpose="update the key's open task: due again, a line added"),
    ]  # fmt: skip


def _body(changes: TaskChanges) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if changes.status is not None:
        body["status"] = changes.status
    if changes.due is not None:
        body["endDatetime"] = to_ivvy_utc(changes.due)
    for name in ("name", "priority"):
        if getattr(changes, name) is not None:
            body[name] = getattr(changes, name)
    if changes.assignee is not None:
        body["assignedUserId"] = f"<user id of {changes.assignee.candidates[0]}>"
    if changes.description is not None or changes.append:
        line = changes.append or ""
        body["description"] = f"<the description, with the line {line!r} and a marker>"
    return body
