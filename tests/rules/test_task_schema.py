"""The addOrUpdateTask body: one owner, a venue with an opportunity, enums, required fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bridge.rules.plan import AssigneePlan, OwnerPlan, TaskPlan
from bridge.rules.task_schema import (
    PLACEHOLDER_ID,
    ResolvedOwner,
    TaskPayloadInvalid,
    build_task_payload,
    placeholder_owner,
    placeholder_user,
    validate_task_payload,
)

SYDNEY_SUMMER = timezone(timedelta(hours=11))
DUE = datetime(2025, 3, 4, 9, 0, tzinfo=SYDNEY_SUMMER)


def task(**changes: Any) -> TaskPlan:
    values: dict[str, Any] = {
        "rule": "r",
        "name": "Call Jo",
        "due": DUE,
        "owner": OwnerPlan("contact", id=5),
        "description": "About the wedding",
        "priority": "high",
        "status": 0,
    }
    values.update(changes)
    return TaskPlan(**values)


def test_a_full_body_in_ivvy_terms() -> None:
    body = build_task_payload(task(), ResolvedOwner("contact", 580), assigned_user_id=12)
    assert body == {
        "name": "Call Jo",
        "endDatetime": "2025-03-03 22:00:00",  # 09:00 in Sydney is the evening before in UTC
        "description": "About the wedding",
        "priority": "high",
        "status": 0,
        "assignedUserId": 12,
        "contactId": 580,
    }


@pytest.mark.parametrize(
    ("owner", "fields"),
    [
        (ResolvedOwner("lead", 2665), {"leadId": 2665}),
        (ResolvedOwner("opportunity", 763, venue_id=1), {"leadId": 763, "venueId": 1}),
        (ResolvedOwner("contact", 45219), {"contactId": 45219}),
        (ResolvedOwner("company", 854), {"companyId": 854}),
    ],
)
def test_each_owner_is_one_field(owner: ResolvedOwner, fields: dict[str, int]) -> None:
    body = build_task_payload(task(description="", priority=None, status=None), owner)
    assert body == {"name": "Call Jo", "endDatetime": "2025-03-03 22:00:00", **fields}


def test_an_opportunity_needs_its_venue() -> None:
    with pytest.raises(TaskPayloadInvalid) as caught:
        build_task_payload(task(), ResolvedOwner("opportunity", 763))
    assert caught.value.messages == {"venueId": ["is required with an opportunity"]}


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        (
            {"endDatetime": "2025-01-01 00:00:00", "contactId": 1},
            {"name": ["is required (and not blank) when creating a task"]},
        ),
        (
            {"name": "  ", "endDatetime": "2025-01-01 00:00:00", "contactId": 1},
            {"name": ["is required (and not blank) when creating a task"]},
        ),
        ({"name": "x", "contactId": 1}, {"endDatetime": ["is required when creating a task"]}),
        (
            {"name": "x", "endDatetime": "2025-01-01T00:00:00Z", "contactId": 1},
            {"endDatetime": ["must be UTC 'yyyy-mm-dd HH:MM:SS' (' UTC' may follow)"]},
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "leadId": 1, "contactId": 2},
            {
                "_owner": [
                    "a task belongs to a lead or to a contact or company, not both; "
                    "got leadId, contactId"
                ]
            },
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "leadId": 1, "companyId": 2},
            {
                "_owner": [
                    "a task belongs to a lead or to a contact or company, not both; "
                    "got leadId, companyId"
                ]
            },
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00"},
            {"_owner": ["a task needs an owner: leadId, contactId or companyId"]},
        ),
        (
            {
                "name": "x",
                "endDatetime": "2025-01-01 00:00:00",
                "contactId": 1,
                "priority": "urgent",
            },
            {"priority": ["must be low, medium or high"]},
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "contactId": 1, "status": 5},
            {"status": ["must be a status id 0 to 4"]},
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "contactId": 1, "status": "0"},
            {"status": ["Not a valid integer."]},
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "contactId": 0},
            {"contactId": ["must be a positive id"]},
        ),
        (
            {"name": "x", "endDatetime": "2025-01-01 00:00:00", "contactId": 1, "color": "red"},
            {"color": ["Unknown field."]},
        ),
    ],
)
def test_invalid_bodies(body: dict[str, Any], messages: dict[str, Any]) -> None:
    with pytest.raises(TaskPayloadInvalid) as caught:
        validate_task_payload(body)
    assert caught.value.messages == messages
    assert str(caught.value).startswith("invalid task: ")


def test_a_contact_with_a_company_is_one_owner_the_company() -> None:
    # The Add or Update Task page: iVvy adds the contact to the company, the task is the
    # company's.  Its own update example sends both, with a venueId and no lead.
    body = {
        "id": 3269,
        "venueId": 1,
        "name": "Test Task API",
        "endDatetime": "2021-11-01 17:00:00",
        "status": 1,
        "assignedUserId": 1,
        "contactId": 45219,
        "companyId": 854,
    }
    assert validate_task_payload(body) == body
    created = {key: value for key, value in body.items() if key != "id"}
    assert validate_task_payload(created) == created


@pytest.mark.parametrize("owner", [{"contactId": 1}, {"companyId": 2}])
def test_a_venue_without_a_lead_is_accepted(owner: dict[str, int]) -> None:
    body = {"name": "x", "endDatetime": "2025-01-01 00:00:00", "venueId": 3, **owner}
    assert validate_task_payload(body) == body


@pytest.mark.parametrize("due", ["2025-01-01 09:00:00 UTC", "2025-01-01 09:00:00"])
def test_a_due_date_with_or_without_the_utc_suffix(due: str) -> None:
    body = {"name": "x", "endDatetime": due, "contactId": 1}
    assert validate_task_payload(body) == body


@pytest.mark.parametrize("due", ["2025-01-01 09:00:00 utc", "2025-01-01 09:00:00 UTC+1"])
def test_no_other_suffix(due: str) -> None:
    with pytest.raises(TaskPayloadInvalid, match="endDatetime"):
        validate_task_payload({"name": "x", "endDatetime": due, "contactId": 1})


def test_an_update_needs_neither_name_nor_owner() -> None:
    body = {"id": 3269, "status": 4}
    assert validate_task_payload(body) == body


def test_a_naive_due_date_is_refused() -> None:
    with pytest.raises(TaskPayloadInvalid, match="endDatetime"):
        build_task_payload(task(due=datetime(2025, 1, 1)), ResolvedOwner("contact", 1))


@pytest.mark.parametrize(
    ("owner", "resolved"),
    [
        (OwnerPlan("lead", id=7), ResolvedOwner("lead", 7)),
        (OwnerPlan("lead", id=7, venue_id=2), ResolvedOwner("opportunity", 7, 2)),
        (OwnerPlan("contact", id=8), ResolvedOwner("contact", 8)),
        (OwnerPlan("contact_email", email="a@b.co"), ResolvedOwner("contact", PLACEHOLDER_ID)),
        (OwnerPlan("company", id=9), ResolvedOwner("company", 9)),
        (OwnerPlan("company_name", business_name="Acme"), ResolvedOwner("company", PLACEHOLDER_ID)),
        (OwnerPlan("new_lead", email="a@b.co"), ResolvedOwner("lead", PLACEHOLDER_ID)),
    ],
)
def test_placeholder_owners(owner: OwnerPlan, resolved: ResolvedOwner) -> None:
    assert placeholder_owner(owner) == resolved
    build_task_payload(task(owner=owner), resolved)  # and the body validates


def test_placeholder_users() -> None:
    assert placeholder_user(task()) is None
    assert placeholder_user(task(assignee=AssigneePlan((12, "jo@venue.example")))) == 12
    assert placeholder_user(task(assignee=AssigneePlan(("Jo Smith",)))) == PLACEHOLDER_ID


def test_utc_input_passes_through() -> None:
    body = build_task_payload(
        task(due=datetime(2025, 1, 1, 7, 30, 59, tzinfo=UTC)), ResolvedOwner("company", 1)
    )
    assert body["endDatetime"] == "2025-01-01 07:30:59"
