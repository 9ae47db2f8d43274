"""Every condition operator, nesting, changed*, and what the explanations say (and hide)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.events import Event
from bridge.rules.conditions import ConditionError, build_condition

EVENT = Event(
    source="website",
    source_type="form",
    kind="submission",
    external_id="e1",
    received_at=datetime(2025, 3, 3, tzinfo=UTC),
    fields={"first_name": "Jo", "email": "jo@example.com", "phone": "+61 400 000 000"},
    answers={
        "event_type": "Wedding",
        "guests": "120",
        "services": ["Catering", "AV"],
        "budget": 15000.5,
        "date": "2025-11-01",
        "note": "Please call URGENTLY",
        "nested": {"deep": {"value": 3}},
        "contact_email": "sam@example.org",
        "zero": 0,
        "flag": True,
        "empty": "",
    },
    data={"stageName": "Won", "totalCost": 1200, "modifiedDate": "2025-03-01 10:00:00 UTC"},
    previous_data={"stageName": "Interested", "totalCost": 1200},
)
CTX = EVENT.context()

CASES: list[tuple[dict[str, Any], bool]] = [
    ({"field": "answers.event_type", "equals": "Wedding"}, True),
    ({"field": "answers.event_type", "equals": "wedding"}, False),
    ({"field": "answers.event_type", "equals": "wedding", "ignore_case": True}, True),
    ({"field": "answers.guests", "equals": 120}, True),  # "120" == 120
    ({"field": "answers.flag", "equals": True}, True),
    ({"field": "answers.flag", "equals": "true"}, True),
    ({"field": "answers.zero", "equals": 0}, True),
    ({"field": "answers.nested.deep.value", "equals": 3}, True),
    ({"field": "answers.services.1", "equals": "AV"}, True),
    ({"field": "answers.missing", "equals": "x"}, False),
    ({"field": "answers.event_type", "not_equals": "Birthday"}, True),
    ({"field": "answers.event_type", "not_equals": "Wedding"}, False),
    ({"field": "answers.missing", "not_equals": "x"}, True),
    ({"field": "answers.event_type", "in": ["Wedding", "Conference"]}, True),
    ({"field": "answers.event_type", "in": ["Birthday"]}, False),
    ({"field": "answers.services", "in": ["AV", "Music"]}, True),  # any selected choice
    ({"field": "answers.services", "in": ["Music"]}, False),
    ({"field": "answers.event_type", "in": ["WEDDING"], "ignore_case": True}, True),
    ({"field": "answers.services", "contains": "Catering"}, True),
    ({"field": "answers.services", "contains": "Music"}, False),
    ({"field": "answers.note", "contains": "call"}, True),
    ({"field": "answers.note", "contains": "CALL"}, False),
    ({"field": "answers.note", "contains": "CALL", "ignore_case": True}, True),
    ({"field": "answers.nested", "contains": "deep"}, True),  # mapping: has the key
    ({"field": "answers.note", "matches": r"urgent(ly)?$"}, False),
    ({"field": "answers.note", "matches": r"urgent(ly)?$", "ignore_case": True}, True),
    ({"field": "answers.guests", "matches": r"^\d+$"}, True),
    ({"field": "email", "exists": True}, True),
    ({"field": "last_name", "exists": True}, False),  # common fields default to ""
    ({"field": "last_name", "exists": False}, True),
    ({"field": "answers.empty", "exists": True}, False),
    ({"field": "answers.zero", "exists": True}, True),
    ({"field": "answers.nope.deeper", "exists": False}, True),
    ({"field": "answers.guests", "gt": 100}, True),
    ({"field": "answers.guests", "gt": 120}, False),
    ({"field": "answers.guests", "gte": 120}, True),
    ({"field": "answers.budget", "lt": 20000}, True),
    ({"field": "answers.budget", "lte": 15000}, False),
    ({"field": "answers.date", "gt": "2025-10-31"}, True),
    ({"field": "answers.date", "lt": "2025-10-31"}, False),
    ({"field": "data.modifiedDate", "gte": "2025-03-01T10:00:00Z"}, True),
    ({"field": "data.modifiedDate", "gt": "2025-03-01T10:00:00Z"}, False),
    ({"field": "answers.event_type", "gt": 3}, False),  # not comparable
    ({"field": "answers.missing", "lt": 3}, False),
    ({"field": "data.stageName", "changed": True}, True),
    ({"field": "data.stageName", "changed": False}, False),
    ({"field": "data.totalCost", "changed": True}, False),  # same value before and after
    ({"field": "data.totalCost", "changed": False}, True),
    ({"field": "data.modifiedDate", "changed": True}, False),  # not in previousData
    ({"field": "stageName", "changed": True}, True),  # relative to data
    ({"field": "data.stageName", "changed_to": "Won"}, True),
    ({"field": "data.stageName", "changed_to": "won", "ignore_case": True}, True),
    ({"field": "data.stageName", "changed_to": "Lost"}, False),
    ({"field": "data.stageName", "changed_from": "Interested"}, True),
    ({"field": "data.stageName", "changed_from": "Won"}, False),
    ({"field": "data.totalCost", "changed_to": 1200}, False),  # unchanged
    ({"all": []}, True),
    ({"any": []}, False),
    (
        {
            "all": [
                {"field": "source", "equals": "website"},
                {"field": "answers.event_type", "in": ["Wedding"]},
            ]
        },
        True,
    ),
    (
        {
            "all": [
                {"field": "source", "equals": "website"},
                {"field": "answers.event_type", "in": ["Birthday"]},
            ]
        },
        False,
    ),
    (
        {
            "any": [
                {"field": "answers.event_type", "equals": "Birthday"},
                {"field": "answers.guests", "gt": 50},
            ]
        },
        True,
    ),
    ({"not": {"field": "answers.event_type", "equals": "Birthday"}}, True),
    ({"not": {"field": "answers.event_type", "equals": "Wedding"}}, False),
    (
        {
            "all": [
                {
                    "any": [
                        {"field": "kind", "equals": "submission"},
                        {"field": "kind", "equals": "x"},
                    ]
                },
                {
                    "not": {
                        "any": [
                            {"field": "answers.guests", "lt": 10},
                            {"field": "phone", "exists": False},
                        ]
                    }
                },
            ]
        },
        True,
    ),
    (
        [{"field": "source", "equals": "website"}, {"field": "subject", "equals": "submission"}],
        True,
    ),
]


@pytest.mark.parametrize(("spec", "expected"), CASES)
def test_operator_table(spec: dict[str, Any], expected: bool) -> None:
    verdict = build_condition(spec).evaluate(CTX)
    assert verdict.holds is expected, verdict.reasons
    assert verdict.reasons or spec in ({"all": []},)


EXPLANATIONS = [
    (
        {"field": "answers.event_type", "in": ["Birthday", "Conference"]},
        "answers.event_type is 'Wedding', not in [Birthday, Conference]",
    ),
    ({"field": "answers.event_type", "equals": "Wedding"}, "answers.event_type is 'Wedding'"),
    ({"field": "answers.guests", "gt": 100}, "answers.guests is '120', greater than 100"),
    ({"field": "answers.guests", "lt": 100}, "answers.guests is '120', not less than 100"),
    ({"field": "answers.missing", "equals": 1}, "answers.missing is missing"),
    (
        {"field": "data.stageName", "changed_to": "Won"},
        "data.stageName changed from 'Interested' to 'Won'",
    ),
    (
        {"field": "data.stageName", "changed_to": "Lost"},
        "data.stageName changed from 'Interested' to 'Won', not to 'Lost'",
    ),
    (
        {"field": "data.modifiedDate", "changed": True},
        "data.modifiedDate did not change (previousData has no modifiedDate)",
    ),
    ({"field": "data.totalCost", "changed": True}, "data.totalCost is unchanged (1200)"),
    ({"field": "answers.note", "matches": "^x"}, "answers.note does not match /^x/"),
    ({"field": "email", "exists": True}, "email is set"),
    ({"field": "last_name", "exists": True}, "last_name is not set"),
]


@pytest.mark.parametrize(("spec", "reason"), EXPLANATIONS)
def test_explanations(spec: dict[str, Any], reason: str) -> None:
    assert build_condition(spec).evaluate(CTX).reasons == (reason,)


def test_any_explains_every_failure_and_not_inverts() -> None:
    spec = {
        "any": [
            {"field": "answers.event_type", "equals": "Birthday"},
            {"field": "answers.guests", "gt": 500},
        ]
    }
    verdict = build_condition(spec).evaluate(CTX)
    assert verdict.reasons == (
        "none of these held: answers.event_type is 'Wedding', not 'Birthday'; "
        "answers.guests is '120', not greater than 500",
    )
    negated = build_condition({"not": {"field": "answers.event_type", "equals": "Wedding"}})
    assert negated.evaluate(CTX).reasons == ("expected not: answers.event_type is 'Wedding'",)


@pytest.mark.parametrize(
    "spec",
    [
        {"field": "email", "equals": "someone@else.com"},
        {"field": "email", "equals": "jo@example.com"},
        {"field": "email", "in": ["a@b.co", "jo@example.com"]},
        {"field": "phone", "contains": "400"},
        {"field": "answers.contact_email", "matches": "example"},
        {"field": "answers.contact_email", "not_equals": "x"},
        {"field": "fields_elsewhere", "equals": "+61 2 9999 0000"},
    ],
)
def test_explanations_hide_emails_and_phones(spec: dict[str, Any]) -> None:
    text = " ".join(build_condition(spec).evaluate(CTX).reasons) + build_condition(spec).describe()
    assert "@" not in text
    assert "400" not in text
    assert "9999" not in text


@pytest.mark.parametrize(
    ("spec", "messages"),
    [
        (
            {"field": "x", "matches": "("},
            {
                "matches": [
                    "invalid regular expression: missing ), unterminated subpattern at position 0"
                ]
            },
        ),
        ({"field": "x", "in": "a"}, {"in": ["must be a list of values"]}),
        ({"field": "x", "exists": "yes"}, {"exists": ["must be true or false"]}),
        ({"field": "x", "gt": [1]}, {"gt": ["must be a number or a date"]}),
        ({"field": "x"}, {"field": ["x: give exactly one operator (found 0)"]}),
        (
            {"field": "x", "equals": 1, "in": [1]},
            {"field": ["x: give exactly one operator (found 2)"]},
        ),
        ({"equals": 1}, {"field": ["a field path (such as answers.event_type) is required"]}),
        (
            {"field": "x", "exists": True, "ignore_case": True},
            {"ignore_case": ["does not apply to 'exists'"]},
        ),
        ({"all": {"field": "x"}}, {"all": ["must be a list of conditions"]}),
        ({"all": [], "any": []}, ["'all' must stand alone in its condition"]),
        ({"not": {"field": "x", "gte": None}}, {"not": {"gte": ["must be a number or a date"]}}),
        (
            {"any": [{"field": "a", "equals": 1}, {"field": "b", "like": 2}]},
            {
                "any": {
                    1: {
                        "like": [
                            "unknown operator; use one of equals, not_equals, in, contains, "
                            "matches, exists, gt, gte, lt, lte, changed, changed_from, "
                            "changed_to, all, any, not"
                        ]
                    }
                }
            },
        ),
        ("kind == x", ["a condition is a mapping such as {field: kind, equals: x}"]),
    ],
)
def test_malformed_conditions_are_refused_with_a_path(spec: Any, messages: Any) -> None:
    with pytest.raises(ConditionError) as caught:
        build_condition(spec)
    assert caught.value.messages == messages


def test_describe_reads_as_the_rule() -> None:
    spec = {"all": [{"field": "a", "in": [1, 2]}, {"not": {"field": "b", "exists": True}}]}
    assert build_condition(spec).describe() == "all of (a in [1, 2]; not (b is set))"
