"""Owner plans for each kind of owner, and each way the event can leave the owner unknown."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.rules.owner_spec import OwnerError
from bridge.rules.plan import OwnerPlan
from bridge.rules.rule import Rule
from bridge.rules.schema import RuleSchema

CONTEXT: dict[str, Any] = {
    "first_name": "Jo",
    "last_name": "Smith",
    "name": "",
    "email": "jo@example.com",
    "phone": "0400 000 000",
    "answers": {"company": "Acme Events", "venue": "7"},
    "data": {"id": 763, "venueId": 1, "contact": {"id": 580}, "company": {"id": 214}},
}


def rule_with(owner: dict[str, Any]) -> Rule:
    data = {"name": "r", "on": {"source": "s"}, "task": {"name": "x", "due": "now"}, **owner}
    rule: Rule = RuleSchema().load(data)
    return rule


def plan(owner: dict[str, Any], context: dict[str, Any] | None = None) -> OwnerPlan:
    return rule_with(owner).owner.render(CONTEXT if context is None else context, "r")


def with_context(**changes: Any) -> dict[str, Any]:
    return {**CONTEXT, **changes}


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ({"lead": {"id": "{{ data.id }}"}}, OwnerPlan("lead", id=763)),
        (
            {"lead": {"id": "{{ data.id }}", "venue": "{{ data.venueId }}"}},
            OwnerPlan("lead", id=763, venue_id=1),
        ),
        ({"lead": {"id": "{{ data.id }}", "venue": "{{ data.nope }}"}}, OwnerPlan("lead", id=763)),
        (
            {"opportunity": {"id": 763, "venue": "{{ answers.venue }}"}},
            OwnerPlan("lead", id=763, venue_id=7),
        ),
        ({"contact": {"id": "{{ data.contact.id }}"}}, OwnerPlan("contact", id=580)),
        ({"contact": {"email": "{{ email }}"}}, OwnerPlan("contact_email", email="jo@example.com")),
        ({"company": {"id": "{{ data.company.id }}"}}, OwnerPlan("company", id=214)),
        (
            {"company": {"name": "{{ answers.company }}"}},
            OwnerPlan("company_name", business_name="Acme Events"),
        ),
        (
            {"contact": {"email": " {{ email }} ", "create": True}},
            OwnerPlan(
                "contact_email",
                email="jo@example.com",
                create_contact=True,
                contact_fields={
                    "firstName": "Jo",
                    "lastName": "Smith",
                    "phone": "0400 000 000",
                    "email": "jo@example.com",
                },
            ),
        ),
        (
            {
                "contact": {
                    "email": "{{ email }}",
                    "create": {"lastName": "{{ answers.company }}", "externalId": 9},
                }
            },
            OwnerPlan(
                "contact_email",
                email="jo@example.com",
                create_contact=True,
                contact_fields={
                    "firstName": "Jo",
                    "lastName": "Acme Events",
                    "phone": "0400 000 000",
                    "externalId": "9",
                    "email": "jo@example.com",
                },
            ),
        ),
        (
            {
                "new_lead": {
                    "name": "{{ first_name }} {{ last_name }}: enquiry",
                    "description": "{{ answers.company }}",
                    "source_id": 3,
                    "type_id": 2,
                    "stage_id": 1,
                    "industry_id": 4,
                }
            },
            OwnerPlan(
                "new_lead",
                email="jo@example.com",
                create_contact=True,
                contact_fields={
                    "firstName": "Jo",
                    "lastName": "Smith",
                    "phone": "0400 000 000",
                    "email": "jo@example.com",
                },
                lead_fields={
                    "name": "Jo Smith: enquiry",
                    "sourceId": 3,
                    "typeId": 2,
                    "stageId": 1,
                    "industryId": 4,
                    "description": "Acme Events",
                },
            ),
        ),
    ],
)
def test_owner_plans(owner: dict[str, Any], expected: OwnerPlan) -> None:
    assert plan(owner) == expected


def test_a_created_contact_takes_its_names_from_the_full_name_when_split_ones_are_missing() -> None:
    context = with_context(first_name="", last_name="", phone="", name="Sam Lee Jones")
    got = plan({"contact": {"email": "{{ email }}", "create": True}}, context)
    assert got.contact_fields == {
        "firstName": "Sam",
        "lastName": "Lee Jones",
        "email": "jo@example.com",
    }


def test_new_lead_contact_can_be_configured() -> None:
    owner = {
        "new_lead": {
            "name": "x",
            "source_id": 1,
            "type_id": 1,
            "stage_id": 1,
            "industry_id": 1,
            "contact": {"email": "{{ answers.work_email }}", "firstName": "{{ answers.given }}"},
        }
    }
    context = with_context(answers={"work_email": "w@corp.example", "given": "Wen"})
    got = plan(owner, context)
    assert got.email == "w@corp.example"
    assert got.contact_fields["firstName"] == "Wen"
    assert got.contact_fields["lastName"] == "Smith"  # the default still applies


@pytest.mark.parametrize(
    ("owner", "context", "message"),
    [
        (
            {"contact": {"email": "{{ email }}", "create": True}},
            with_context(email=""),
            "no email in the event, so no contact can be found or created",
        ),
        (
            {"contact": {"email": "{{ email }}"}},
            with_context(email="   "),
            "no email in the event, so no contact can be found",
        ),
        (
            {"contact": {"email": "{{ email }}", "create": True}},
            with_context(email="jo at example dot com"),
            "the email in the event is not a valid address, so no contact can be found or created",
        ),
        (
            {
                "new_lead": {
                    "name": "x",
                    "source_id": 1,
                    "type_id": 1,
                    "stage_id": 1,
                    "industry_id": 1,
                }
            },
            with_context(email=""),
            "no email in the event, so the new lead has no contact",
        ),
        (
            {
                "new_lead": {
                    "name": "{{ answers.nope }}",
                    "source_id": 1,
                    "type_id": 1,
                    "stage_id": 1,
                    "industry_id": 1,
                }
            },
            CONTEXT,
            "the new lead's name rendered empty (answers.nope: not in this event)",
        ),
        (
            {"lead": {"id": "{{ data.lead_id }}"}},
            CONTEXT,
            "the lead id rendered empty from '{{ data.lead_id }}' "
            "(data.lead_id: not in this event)",
        ),
        (
            {"lead": {"id": "{{ answers.company }}"}},
            CONTEXT,
            "the lead id 'Acme Events' is not a positive whole number",
        ),
        (
            {"contact": {"id": "{{ email }}"}},
            CONTEXT,
            "the contact id (a hidden value) is not a positive whole number",
        ),
        (
            {"opportunity": {"id": "{{ data.id }}", "venue": "{{ data.venue }}"}},
            CONTEXT,
            "the opportunity's venue id rendered empty "
            "(data.venue: not in this event; did you mean data.venueId?)",
        ),
        (
            {"company": {"id": "0"}},
            CONTEXT,
            "the company id '0' is not a positive whole number",
        ),
        (
            {"company": {"name": "{{ answers.business }}"}},
            CONTEXT,
            "the company name rendered empty, so no company can be found "
            "(answers.business: not in this event)",
        ),
    ],
)
def test_missing_owners_say_what_to_do(
    owner: dict[str, Any], context: dict[str, Any], message: str
) -> None:
    with pytest.raises(OwnerError) as caught:
        plan(owner, context)
    assert str(caught.value) == message
    assert "@" not in str(caught.value)


def test_describe() -> None:
    owner = rule_with({"contact": {"email": "{{ email }}", "create": True}}).owner
    assert owner.describe() == "contact by email {{ email }}, created when missing"
    assert rule_with({"opportunity": {"id": 1, "venue": 2}}).owner.describe() == "opportunity 1"
