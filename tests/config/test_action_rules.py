"""Rules that complete, cancel or update earlier tasks, and task keys: what loads, and every
mistake named by file, line and path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.config import ConfigError, load_config
from bridge.events import Event
from bridge.rules.engine import evaluate
from bridge.task_status import TaskStatus

ACTIONS = """
  - name: enquiry
    on: {source: website}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Call {{ first_name }}"
      due: "+1 business day at 09:00"
      key: "{{ email }}"
      update_open: {within_days: 7, append: "Asked again: {{ message }}"}
  - name: booking-cancelled
    on: {source: ivvy, subject: BookingDeleted}
    cancel:
      tasks_of: enquiry
      key: "booking-{{ raw.bookingId }}"
      append: "Cancelled with the booking."
  - name: won
    on: {source: ivvy, subject: OpportunityUpdated}
    opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}
    complete: {tasks_of: [enquiry]}
  - name: again
    on: {source: typeform}
    update:
      tasks_of: [enquiry]
      key: "{{ email }}"
      due: "+2 business days at 10:00"
      priority: high
      status: In Progress
      assignee: events@venue.example
"""


def config_with(write_config, env, valid_text: str, rules: str):
    text = valid_text.replace("\ndelivery:", rules + "\ndelivery:")
    return text, write_config(text)


def test_actions_and_keys_load(write_config, env, valid_text) -> None:
    _, path = config_with(write_config, env, valid_text, ACTIONS)
    config = load_config(path, env)
    rules = {rule.name: rule for rule in config.rules}
    enquiry = rules["enquiry"].task
    assert enquiry is not None and enquiry.key is not None and enquiry.update_open is not None
    assert enquiry.update_open.within_days == 7
    cancel = rules["booking-cancelled"]
    assert cancel.task is None and cancel.owner is None and cancel.action is not None
    assert (cancel.action.action, cancel.action.of_rules) == ("cancel", ("enquiry",))
    won = rules["won"]
    assert won.action is not None and won.owner is not None and won.action.key is None
    again = rules["again"].action
    assert again is not None and again.status == int(TaskStatus.IN_PROGRESS)


def test_an_action_renders_its_plan(write_config, env, valid_text) -> None:
    _, path = config_with(write_config, env, valid_text, ACTIONS)
    config = load_config(path, env)
    now = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
    event = Event(
        source="typeform",
        source_type="typeform",
        kind="form_response",
        external_id="x",
        received_at=now,
        fields={"email": "ana@example.org", "first_name": "Ana"},
    )
    outcomes = {
        o.rule: o for o in evaluate(event, config.rules, now=now, calendar=config.calendar())
    }
    action = outcomes["again"].action
    assert action is not None and outcomes["again"].plan is None
    assert (action.action, action.key, action.of_rules) == (
        "update",
        "ana@example.org",
        ("enquiry",),
    )
    assert action.changes.status == 1 and action.changes.priority == "high"
    assert (
        action.changes.due is not None
        and action.changes.due.isoformat() == "2026-03-16T10:00:00+11:00"
    )
    assert action.changes.assignee is not None


MISTAKES = [
    (
        "tasks_of names no creating rule",
        ACTIONS.replace("tasks_of: enquiry\n", "tasks_of: enquiri\n"),
        "rules[3].cancel.tasks_of: no rule named 'enquiri' creates tasks",
        "tasks_of: enquiri",
    ),
    (
        "a task and an action",
        ACTIONS.replace(
            "    complete: {tasks_of: [enquiry]}",
            "    complete: {tasks_of: [enquiry]}\n    task: {name: x, due: +1 day}",
        ),
        "rules[4].complete: a rule does one thing; remove complete or task",
        "complete: {tasks_of: [enquiry]}",
    ),
    (
        "an action that selects nothing",
        ACTIONS.replace('      key: "booking-{{ raw.bookingId }}"\n', ""),
        "rules[3]: say which tasks: a key, or an owner",
        "- name: booking-cancelled",
    ),
    (
        "complete with a due date",
        ACTIONS.replace(
            "complete: {tasks_of: [enquiry]}", "complete: {tasks_of: [enquiry], due: +1 day}"
        ),
        "rules[4].complete.due: complete sets the status only",
        "complete: {tasks_of",
    ),
    (
        "update with nothing to change",
        ACTIONS.replace(
            '      due: "+2 business days at 10:00"\n      priority: high\n'
            "      status: In Progress\n      assignee: events@venue.example\n",
            "",
        ),
        "rules[5].update: say what to change",
        "    update:",
    ),
    (
        "update_open without a key",
        ACTIONS.replace('      key: "{{ email }}"\n      update_open', "      update_open"),
        "rules[2].task.update_open: needs the task's key",
        "update_open:",
    ),
    (
        "bad within_days",
        ACTIONS.replace("within_days: 7", "within_days: seven"),
        "rules[2].task.update_open: within_days: must be a whole number",
        "update_open:",
    ),
    (
        "an unknown status",
        ACTIONS.replace("status: In Progress", "status: Done"),
        "rules[5].update.status: unknown status 'Done'",
        "status: Done",
    ),
]


@pytest.mark.parametrize(
    ("case", "rules", "message", "anchor"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_mistakes_name_file_line_and_path(
    write_config, env, valid_text, case: str, rules: str, message: str, anchor: str
) -> None:
    text, path = config_with(write_config, env, valid_text, rules)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env)
    line = text.count("\n", 0, text.index(anchor)) + 1
    assert f"bridge.yaml:{line} {message}" in str(caught.value)


def test_check_prints_what_each_rule_does(write_config, env, valid_text, capsys) -> None:
    from bridge.commands.check import summary

    _, path = config_with(write_config, env, valid_text, ACTIONS)
    out = summary(load_config(path, env))
    assert "    key    {{ email }}, its open task updated by later events" in out
    assert "    does   cancel the open tasks of enquiry by key booking-{{ raw.bookingId }}" in out
    assert "    does   complete the open tasks of enquiry by the rule's owner" in out
