"""RuleSchema: the YAML rule shape loads into a Rule, and mistakes come back with their path."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from marshmallow import ValidationError

from bridge.rules.conditions import FieldCondition
from bridge.rules.rule import Rule, Trigger
from bridge.rules.schema import RuleSchema
from bridge.rules.templates import Template

WEBSITE_RULE = """
name: website-enquiry
description: Wedding and conference enquiries
on: {source: website}
when: {field: answers.event_type, in: [Wedding, Conference]}
contact: {email: "{{ email }}", create: true}
venue: "{{ answers.venue_id }}"
task:
  name: "Call {{ first_name }} about their {{ answers.event_type | lower }}"
  description: "{{ message }}"
  due: "+1 business day at 09:00"
  priority: high
  status: Not Started
  assignee: events@venue.example
stop: true
"""


def load(text_or_mapping: str | dict[str, Any]) -> Rule:
    data = yaml.safe_load(text_or_mapping) if isinstance(text_or_mapping, str) else text_or_mapping
    rule: Rule = RuleSchema().load(data)
    return rule


def errors_of(data: dict[str, Any]) -> Any:
    with pytest.raises(ValidationError) as caught:
        RuleSchema().load(data)
    return caught.value.messages


def minimal(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": "r1",
        "on": {"source": "website"},
        "contact": {"id": "{{ data.contact.id }}"},
        "task": {"name": "Follow up", "due": "+1 day"},
    }
    rule.update(overrides)
    return {k: v for k, v in rule.items() if v is not None}


def test_the_documented_rule_loads() -> None:
    rule = load(WEBSITE_RULE)
    assert rule.name == "website-enquiry"
    assert rule.description == "Wedding and conference enquiries"
    assert rule.trigger == Trigger(sources=("website",), kinds=())
    assert isinstance(rule.when, FieldCondition)
    assert rule.when.operator == "in"
    assert rule.owner.key == "contact"
    assert rule.owner.plan_kind == "contact_email"
    assert rule.owner.create_contact is True
    assert set(rule.owner.contact_fields) == {"firstName", "lastName", "phone"}
    assert rule.venue is not None and rule.venue.source == "{{ answers.venue_id }}"
    assert rule.task.priority == "high"
    assert rule.task.status == 0
    assert rule.task.due.text == "+1 business day at 09:00"
    assert rule.task.due.base is None
    [assignee] = rule.task.assignees
    assert isinstance(assignee, Template) and assignee.source == "events@venue.example"
    assert rule.stop is True


def test_yaml_reads_unquoted_on_as_true_and_the_schema_accepts_it() -> None:
    data = yaml.safe_load("name: r\non: {subject: OpportunityUpdated}\n")
    assert True in data
    data.update(lead={"id": "{{ data.id }}"}, task={"name": "x", "due": "now"})
    assert load(data).trigger == Trigger(sources=(), kinds=("OpportunityUpdated",))


@pytest.mark.parametrize(
    ("on", "trigger"),
    [
        ({"sources": ["a", "b"]}, Trigger(("a", "b"), ())),
        ({"source": "a", "sources": ["b"]}, Trigger(("a", "b"), ())),
        ({"kind": "form_response"}, Trigger((), ("form_response",))),
        (
            {"source": "ivvy", "subjects": ["OpportunityUpdated", "OpportunityAdded"]},
            Trigger(("ivvy",), ("OpportunityUpdated", "OpportunityAdded")),
        ),
        ({"kinds": ["x"], "subject": "x"}, Trigger((), ("x",))),
    ],
)
def test_triggers(on: dict[str, Any], trigger: Trigger) -> None:
    assert load(minimal(on=on)).trigger == trigger


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [
        (12, (12,)),
        ("12", (12,)),
        ("Jo Smith", ("Jo Smith",)),
        (
            ["a@venue.example", 7, "{{ data.ownerUser.id }}"],
            ("a@venue.example", 7, "{{ data.ownerUser.id }}"),
        ),
    ],
)
def test_assignee_forms(assignee: Any, expected: tuple[Any, ...]) -> None:
    rule = load(minimal(task={"name": "x", "due": "now", "assignee": assignee}))
    got = tuple(a if isinstance(a, int) else a.source for a in rule.task.assignees)
    assert got == expected


@pytest.mark.parametrize(
    ("status", "number"),
    [
        ("Not Started", 0),
        ("in progress", 1),
        ("On_Hold", 2),
        ("Cancelled", 3),
        ("COMPLETED", 4),
        (4, 4),
    ],
)
def test_status_by_name_or_number(status: Any, number: int) -> None:
    assert load(minimal(task={"name": "x", "due": "now", "status": status})).task.status == number


def test_due_from_a_template_compiles_its_base() -> None:
    task = {"name": "x", "due": "-2 business days from {{ data.startDate }} at 10:00"}
    due = load(minimal(task=task)).task.due
    assert due.base is not None and due.base.source == "{{ data.startDate }}"


@pytest.mark.parametrize(
    ("overrides", "messages"),
    [
        (
            {"task": {"name": "x", "due": "+2 fortnights"}},
            {
                "task": {
                    "due": [
                        "unknown unit 'fortnights' "
                        "(use minutes, hours, days, weeks or business days)"
                    ]
                }
            },
        ),
        (
            {"task": {"name": "x", "due": "now", "priority": "urgent"}},
            {"task": {"priority": ["use low, medium or high"]}},
        ),
        (
            {"task": {"name": "x", "due": "now", "status": "Done"}},
            {
                "task": {
                    "status": [
                        "unknown status 'Done'; use one of Not Started, In Progress, "
                        "On Hold, Cancelled, Completed"
                    ]
                }
            },
        ),
        (
            {"task": {"name": "{{ oops", "due": "now"}},
            {
                "task": {
                    "name": [
                        "template syntax error: unexpected end of template, "
                        "expected 'end of print statement'. (line 1)"
                    ]
                }
            },
        ),
        ({"task": {"due": "now"}}, {"task": {"name": ["Missing data for required field."]}}),
        (
            {"task": {"name": "x", "due": "now", "assignee": []}},
            {"task": {"assignee": ["name at least one user"]}},
        ),
        (
            {"task": {"name": "x", "due": "now", "colour": "red"}},
            {"task": {"colour": ["Unknown field."]}},
        ),
        ({"name": "has spaces"}, {"name": ["use letters, digits, '-', '_' or '.' (no spaces)"]}),
        (
            {"on": {}},
            {
                "on": {
                    "_schema": [
                        "say which events: source, sources, kind, kinds, subject or subjects"
                    ]
                }
            },
        ),
        ({"on": None}, {"on": ["Missing data for required field."]}),
        (
            {"when": {"field": "x", "matches": "[a-"}},
            {
                "when": {
                    "matches": [
                        "invalid regular expression: unterminated character set at position 0"
                    ]
                }
            },
        ),
        (
            {"contact": None},
            {
                "_schema": [
                    "say who owns the task: one of lead, opportunity, contact, company or new_lead"
                ]
            },
        ),
        (
            {"company": {"id": 3}},
            {"company": ["a task has exactly one owner; remove company or contact"]},
        ),
        (
            {"contact": {"id": 1, "email": "{{ email }}"}},
            {"contact": {"_schema": ["give either id or email"]}},
        ),
        (
            {"contact": {"id": 1, "create": True}},
            {"contact": {"create": ["only a contact found by email can be created"]}},
        ),
        (
            {"contact": {"email": "{{ email }}", "create": "yes"}},
            {
                "contact": {
                    "create": ["true, false, or contact fields (firstName, lastName, phone)"]
                }
            },
        ),
        (
            {"contact": None, "opportunity": {"id": "{{ data.id }}"}},
            {"opportunity": {"venue": ["Missing data for required field."]}},
        ),
        ({"contact": None, "company": {}}, {"company": {"_schema": ["give either id or name"]}}),
        (
            {"contact": None, "new_lead": {"name": "x", "source_id": "3", "type_id": 0}},
            {
                "new_lead": {
                    "source_id": ["Not a valid integer."],
                    "type_id": ["must be a positive id"],
                    "stage_id": ["Missing data for required field."],
                    "industry_id": [
                        "is required: iVvy refuses a lead that belongs to a contact without "
                        "industryId (the account's industry id)"
                    ],
                }
            },
        ),
        ({"stop": "maybe"}, {"stop": ["Not a valid boolean."]}),
    ],
)
def test_mistakes_come_back_with_their_path(overrides: dict[str, Any], messages: Any) -> None:
    assert errors_of(minimal(**overrides)) == messages


def test_owner_kinds() -> None:
    cases = {
        "lead": ({"lead": {"id": "{{ data.id }}"}}, "lead"),
        "opportunity": ({"opportunity": {"id": 5, "venue": 1}}, "lead"),
        "contact id": ({"contact": {"id": 3}}, "contact"),
        "contact email": ({"contact": {"email": "{{ email }}"}}, "contact_email"),
        "company id": ({"company": {"id": 3}}, "company"),
        "company name": ({"company": {"name": "{{ answers.company }}"}}, "company_name"),
        "new lead": (
            {
                "new_lead": {
                    "name": "{{ name }}",
                    "source_id": 1,
                    "type_id": 2,
                    "stage_id": 3,
                    "industry_id": 4,
                }
            },
            "new_lead",
        ),
    }
    for label, (owner, kind) in cases.items():
        data = {**minimal(contact=None), **owner}
        assert load(data).owner.plan_kind == kind, label
