"""The engine over real sample events: which rules fire, their plans, their errors, stop."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bridge.events import Event
from bridge.rules.calendar import BusinessCalendar
from bridge.rules.engine import evaluate
from bridge.rules.plan import AssigneePlan, OwnerPlan, RuleOutcome
from bridge.rules.rule import Rule
from bridge.rules.schema import RuleSchema
from bridge.sources.base import Accepted, InboundRequest
from bridge.sources.registry import build_source

SAMPLES = Path(__file__).parents[1] / "fixtures" / "samples"
SYDNEY = ZoneInfo("Australia/Sydney")
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=SYDNEY)  # a Monday
CALENDAR = BusinessCalendar("Australia/Sydney", "AU", "NSW")
TOPIC = (
    "arn:aws:sns:ap-southeast-2:232528047142:"
    "iVvy_Account_14_d4959ffe27f4a760733babdf1fa7fbbd354d4f62_NotifCompanies"
)


def parsed(source: str, options: dict[str, Any], sample: str, content_type: str) -> Event:
    request = InboundRequest(
        body=(SAMPLES / sample).read_bytes(), headers={}, content_type=content_type
    )
    result = build_source(source, options).parse(request, NOW)
    assert isinstance(result, Accepted)
    return result.event


@pytest.fixture(scope="module")
def typeform_event() -> Event:
    return parsed(
        "website", {"type": "typeform", "secrets": ["s"]}, "typeform.json", "application/json"
    )


@pytest.fixture(scope="module")
def opportunity_event() -> Event:
    event = parsed(
        "ivvy",
        {"type": "ivvy", "topics": [TOPIC]},
        "ivvy-OpportunityUpdated.constructed.json",
        "text/plain",
    )
    # The vendor sample has an empty previousData; give it the stage it moved from.
    return dataclasses.replace(event, previous_data={"stageName": "New", "stageId": 46})


def rules(text: str) -> list[Rule]:
    return [RuleSchema().load(item) for item in yaml.safe_load(text)]


WEBSITE_RULES = """
- name: favourite-city
  on: {source: website, kind: form_response}
  when:
    all:
      - {field: answers.readable_ref_multiple_choice, in: [London, Paris]}
      - {field: answers.readable_ref_number1, gte: 4}
  contact: {email: "{{ email }}", create: true}
  task:
    name: "Call {{ first_name }} about {{ answers.readable_ref_multiple_choice }}"
    description: "{{ answers.readable_ref_long_text }}"
    due: "+1 business day at 09:00"
    priority: high
    status: In Progress
    assignee: [events@venue.example, 12]
- name: birthday
  on: {source: website}
  when: {field: answers.event_type, in: [Birthday]}
  contact: {email: "{{ email }}"}
  task: {name: "Birthday", due: "+1 day"}
- name: everything-from-the-website
  on: {sources: [website, other]}
  company: {name: "{{ answers.company | default('Walk-ins') }}"}
  task: {name: "Log it", due: "+2 hours", priority: low}
- name: wrong-source
  on: {source: ivvy}
  lead: {id: "{{ data.id }}"}
  task: {name: "x", due: "now"}
"""


def test_every_matching_rule_fires_and_the_others_say_why_not(typeform_event: Event) -> None:
    outcomes = evaluate(typeform_event, rules(WEBSITE_RULES), now=NOW, calendar=CALENDAR)
    assert [(o.rule, o.matched, o.error) for o in outcomes] == [
        ("favourite-city", True, None),
        ("birthday", False, None),
        ("everything-from-the-website", True, None),
        ("wrong-source", False, None),
    ]
    first, birthday, catch_all, wrong = outcomes
    assert first.reasons == (
        "source is 'website'",
        "kind is 'form_response'",
        "answers.readable_ref_multiple_choice is 'London', in [London, Paris]",
        "answers.readable_ref_number1 is 5, at least 4",
    )
    assert first.plan is not None
    assert first.plan.name == "Call Laura about London"
    assert first.plan.description.startswith("It's cold right now!")
    assert first.plan.due == datetime(2025, 3, 4, 9, 0, tzinfo=SYDNEY)
    assert first.plan.priority == "high" and first.plan.status == 1
    assert first.plan.assignee == AssigneePlan(("events@venue.example", 12))
    assert first.plan.owner == OwnerPlan(
        "contact_email",
        email="laura@example.com",
        create_contact=True,
        contact_fields={"firstName": "Laura", "email": "laura@example.com"},
    )
    assert birthday.reasons == ("source is 'website'", "answers.event_type is missing")
    assert catch_all.plan is not None
    assert catch_all.plan.owner == OwnerPlan("company_name", business_name="Walk-ins")
    assert catch_all.plan.due == NOW + timedelta(hours=2)
    assert catch_all.plan.assignee is None
    assert wrong.reasons == ("source is 'website', not 'ivvy'",)


def test_stop_ends_matching(typeform_event: Event) -> None:
    loaded = rules(WEBSITE_RULES)
    loaded[0] = dataclasses.replace(loaded[0], stop=True)
    outcomes = evaluate(typeform_event, loaded, now=NOW, calendar=CALENDAR)
    assert outcomes[0].matched and outcomes[0].plan is not None
    for later in outcomes[1:]:
        assert later == RuleOutcome(
            later.rule, False, ("not evaluated: rule favourite-city matched and stops matching",)
        )


def test_a_stop_rule_that_does_not_match_does_not_stop(typeform_event: Event) -> None:
    loaded = rules(WEBSITE_RULES)
    loaded[1] = dataclasses.replace(loaded[1], stop=True)
    outcomes = evaluate(typeform_event, loaded, now=NOW, calendar=CALENDAR)
    assert outcomes[2].matched


OPPORTUNITY_RULES = """
- name: opportunity-moved
  on: {source: ivvy, subject: OpportunityUpdated}
  when: {field: data.stageName, changed_to: Interested}
  opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}
  task:
    name: "Send a proposal for {{ data.name }}"
    due: "+2 business days at 10:00"
    priority: medium
    assignee: "{{ data.ownerUser.id }}"
- name: before-close
  on: {subject: OpportunityUpdated}
  when: {field: data.stageName, changed: true}
  contact: {id: "{{ data.contact.id }}"}
  venue: "{{ data.venueId }}"
  task:
    name: "Chase {{ data.contact.firstName }}"
    due: "-1 business day from {{ data.closedDate }} at 09:00"
- name: won
  on: {subject: OpportunityUpdated}
  when: {field: data.stageName, changed_to: Won}
  lead: {id: "{{ data.id }}"}
  task: {name: "x", due: "now"}
"""


class VenueTimezones:
    def __init__(self, zones: dict[int, str | None]) -> None:
        self.zones = zones
        self.asked: list[int] = []

    def venue_timezone(self, venue_id: int) -> str | None:
        self.asked.append(venue_id)
        return self.zones.get(venue_id)


def test_ivvy_updates_with_changes_and_venue_timezones(opportunity_event: Event) -> None:
    lookups = VenueTimezones({1: "Australia/Perth"})
    outcomes = evaluate(
        opportunity_event, rules(OPPORTUNITY_RULES), now=NOW, calendar=CALENDAR, lookups=lookups
    )
    moved, before_close, won = outcomes
    assert moved.reasons == (
        "source is 'ivvy'",
        "kind is 'OpportunityUpdated'",
        "data.stageName changed from 'New' to 'Interested'",
    )
    assert moved.plan is not None
    assert moved.plan.owner == OwnerPlan("lead", id=763, venue_id=1)
    assert moved.plan.assignee == AssigneePlan((549,))
    perth = ZoneInfo("Australia/Perth")
    assert moved.plan.due == datetime(2025, 3, 5, 10, 0, tzinfo=perth)  # the venue's 10:00
    assert before_close.plan is not None
    assert before_close.plan.owner == OwnerPlan("contact", id=580)
    # closedDate 2019-04-19 09:00 UTC is Friday evening in Perth; a business day before is Thursday
    assert before_close.plan.due == datetime(2019, 4, 18, 9, 0, tzinfo=perth)
    assert won.matched is False
    assert won.reasons[-1] == "data.stageName changed from 'New' to 'Interested', not to 'Won'"
    assert lookups.asked == [1]  # once per venue per event


def test_without_lookups_or_with_an_unknown_venue_the_default_calendar_is_used(
    opportunity_event: Event,
) -> None:
    for lookups in (None, VenueTimezones({})):
        moved = evaluate(
            opportunity_event, rules(OPPORTUNITY_RULES), now=NOW, calendar=CALENDAR, lookups=lookups
        )[0]
        assert moved.plan is not None
        assert moved.plan.due == datetime(2025, 3, 5, 10, 0, tzinfo=SYDNEY)


ERROR_RULES = """
- name: needs-email
  on: {source: website}
  contact: {email: "{{ answers.work_email }}", create: true}
  task: {name: "x", due: "now"}
- name: empty-name
  on: {source: website}
  company: {id: 5}
  task: {name: "{{ answers.nothing }}", due: "now"}
- name: bad-base
  on: {source: website}
  company: {id: 5}
  task: {name: "x", due: "+1 day from {{ answers.readable_ref_long_text }}"}
- name: sandboxed
  on: {source: website}
  company: {id: 5}
  task: {name: "{{ email.__class__ }}", due: "now"}
- name: bad-venue
  on: {source: website}
  company: {id: 5}
  venue: "{{ raw.__class__ }}"
  task: {name: "x", due: "now"}
- name: still-runs
  on: {source: website}
  company: {id: 5}
  task: {name: "ok", due: "now"}
"""


def test_matched_rules_that_cannot_make_a_task_report_an_error(typeform_event: Event) -> None:
    outcomes = evaluate(typeform_event, rules(ERROR_RULES), now=NOW, calendar=CALENDAR)
    errors = {o.rule: o.error for o in outcomes}
    assert all(o.matched for o in outcomes)
    assert errors["needs-email"] == (
        "no email in the event, so no contact can be found or created "
        "(answers.work_email: not in this event)"
    )
    assert errors["empty-name"] == (
        "the task name '{{ answers.nothing }}' rendered empty (answers.nothing: not in this event)"
    )
    assert errors["bad-base"] is not None
    assert errors["bad-base"].startswith(
        "due date '+1 day from {{ answers.readable_ref_long_text }}': "
    )
    assert "cold" not in errors["bad-base"]  # the event's value is not echoed
    assert errors["sandboxed"] is not None and "not allowed" in errors["sandboxed"]
    assert errors["bad-venue"] is not None and errors["bad-venue"].startswith("venue:")
    assert errors["still-runs"] is None
    assert all(o.plan is None for o in outcomes if o.error)


def test_a_task_ivvy_would_refuse_is_an_error_here(typeform_event: Event) -> None:
    loaded = rules(ERROR_RULES)[-1]
    bad_status = dataclasses.replace(loaded, task=dataclasses.replace(loaded.task, status=9))
    [outcome] = evaluate(typeform_event, [bad_status], now=NOW, calendar=CALENDAR)
    assert outcome.error == "invalid task: status: must be a status id 0 to 4"


def test_now_is_the_only_clock(typeform_event: Event) -> None:
    rule = rules(ERROR_RULES)[-1]
    then = datetime(2020, 1, 1, tzinfo=UTC)
    [outcome] = evaluate(typeform_event, [rule], now=then, calendar=CALENDAR)
    assert outcome.plan is not None and outcome.plan.due == then
