"""``/_sandbox``: what the sandbox holds, its call log, seeding, resetting and fault knobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, render_template_string, request

from bridge.ivvy.sandbox import notification_actions
from bridge.ivvy.sandbox.contact_actions import render_company, render_contact
from bridge.ivvy.sandbox.errors import error_body
from bridge.ivvy.sandbox.faults import Faults
from bridge.ivvy.sandbox.lead_actions import render_lead
from bridge.ivvy.sandbox.state import SandboxState
from bridge.ivvy.sandbox.task_actions import render_task
from bridge.task_status import STATUS_IDS, TaskStatus

Renderer = Callable[[SandboxState, dict[str, Any]], dict[str, Any]]
RENDERERS: dict[str, Renderer] = {
    "tasks": render_task,
    "contacts": render_contact,
    "companies": render_company,
    "leads": render_lead,
    "users": lambda state, record: record,
    "venues": lambda state, record: record,
    "subscriptions": lambda state, record: record,
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Sandbox iVvy</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style></head>
<body><h1>Sandbox iVvy</h1>
<p>A stand-in for iVvy: nothing here reaches a real CRM. This page refreshes every 5 seconds.
JSON: {% for kind in kinds %}<a href="{{ kind }}">{{ kind }}</a> {% endfor %}
<a href="calls">calls</a> <a href="faults">faults</a></p>
<h2>Tasks ({{ tasks|length }})</h2>
{% if tasks %}<table><tr><th>id</th><th>name</th><th>due (UTC)</th><th>belongs to</th>
<th>assigned to</th><th>priority</th><th>status</th><th>created</th></tr>
{% for task in tasks %}<tr><td>{{ task.id }}</td><td>{{ task.name }}</td>
<td>{{ task.endDatetime }}</td><td>{{ task.owner }}</td>
<td>{{ task.assignedUserFullName or "" }}</td><td>{{ task.priority or "" }}</td>
<td>{{ task.statusName }}</td><td>{{ task.createdDate }}</td></tr>{% endfor %}</table>
{% else %}<p>No tasks yet. Send an event to the bridge and watch them appear here.</p>{% endif %}
</body></html>"""


def _status_name(status: Any) -> str | None:
    return TaskStatus(status).label if status in STATUS_IDS else None


def task_owner(task: dict[str, Any]) -> str:
    """What a task belongs to, for people: ``lead 2``, ``company 1`` or ``contact 5``."""
    for field, label in (("leadId", "lead"), ("companyId", "company"), ("contactId", "contact")):
        if task.get(field) is not None:
            return f"{label} {task[field]}"
    return ""


def inspection_blueprint(state: SandboxState, faults: Faults) -> Blueprint:
    """The /_sandbox endpoints over the sandbox's records and fault knobs (which never apply
    here)."""
    blueprint = Blueprint("sandbox_inspection", __name__, url_prefix="/_sandbox")

    def listing(kind: str) -> list[dict[str, Any]]:
        with state.lock:
            return [RENDERERS[kind](state, record) for record in state.records(kind)]

    def bad_request(message: str) -> Response:
        response = jsonify(error_body(400, message))
        response.status_code = 400
        return response

    @blueprint.get("/")
    def page() -> str:
        tasks = [
            {**task, "owner": task_owner(task), "statusName": _status_name(task["status"])}
            for task in listing("tasks")
        ]
        return render_template_string(PAGE, tasks=tasks, kinds=list(RENDERERS))

    @blueprint.get("/<any(tasks, contacts, companies, leads, users, venues, subscriptions):kind>")
    def records(kind: str) -> Response:
        return jsonify(listing(kind))

    @blueprint.post("/subscriptions/<int:subscription_id>/confirm")
    def confirm_subscription(subscription_id: int) -> Response:
        # What fetching SNS's SubscribeURL does: the subscription becomes confirmed.
        found = notification_actions.confirm(state, subscription_id)
        if found is None:
            response = jsonify(error_body(404, "No such subscription"))
            response.status_code = 404
            return response
        return jsonify(found)

    @blueprint.get("/calls")
    def calls() -> Response:
        return jsonify(state.calls())

    @blueprint.post("/reset")
    def reset() -> Response:
        state.reset()
        faults.clear()
        return jsonify({"reset": True})

    @blueprint.post("/seed")
    def seed() -> Response:
        body = request.get_json(force=True, silent=True)
        if body is None:
            return bad_request("The seed must be a JSON object")
        try:
            state.load_seed(body)
        except ValueError as error:
            return bad_request(str(error))
        faults.clear()
        counts = {kind: len(state.records(kind)) for kind in RENDERERS}
        return jsonify({"seeded": True, "counts": counts})

    @blueprint.get("/faults")
    def describe_faults() -> Response:
        return jsonify(faults.describe())

    @blueprint.post("/faults")
    def set_faults() -> Response:
        try:
            changes = request.get_json(force=True, silent=True)
            if not isinstance(changes, dict):
                return bad_request("Fault settings must be a JSON object")
            return jsonify(faults.configure(changes))
        except ValueError as error:
            return bad_request(str(error))

    @blueprint.delete("/faults")
    def clear_faults() -> Response:
        return jsonify(faults.clear())

    return blueprint
