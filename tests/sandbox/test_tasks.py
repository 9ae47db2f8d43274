"""crm.addOrUpdateTask and crm.getTaskList: stored fields, validation and the one-owner rule.

Packaged seed: users 1-4 (4 inactive), venues 1 (Sydney) and 2 (London), company 1, contact 1
(a contact of company 1), lead 1 (contact lead), opportunity 2 (venue 1).
"""

from __future__ import annotations

import pytest

TASK = {"name": "Call Jane", "endDatetime": "2024-05-07 09:00:00", "contactId": 1}


def only_task(inspector) -> dict:
    tasks = inspector.get("tasks")
    assert len(tasks) == 1
    return tasks[0]


def test_create_stores_the_callers_fields(api, inspector) -> None:
    answer = api.ok(
        "crm",
        "addOrUpdateTask",
        {
            **TASK,
            "assignedUserId": 2,
            "priority": "high",
            "status": 1,
            "description": "<p>About the gala</p>",
        },
    )
    assert answer["success"] is True
    task = only_task(inspector)
    assert task["id"] == answer["id"]
    assert task["name"] == "Call Jane"
    assert task["endDatetime"] == "2024-05-07 09:00:00 UTC"
    assert (task["contactId"], task["companyId"], task["leadId"]) == (1, None, None)
    assert task["assignedUserId"] == 2
    assert task["assignedUserFullName"] == "Sam Patel"
    assert task["assignedUserEmail"] == "events@venue.example"
    assert (task["priority"], task["status"]) == ("high", 1)
    assert task["description"] == "<p>About the gala</p>"
    assert task["createdDate"] == task["modifiedDate"]
    assert task["createdDate"].endswith(" UTC")


def test_ids_grow_and_the_task_list_shows_them(api) -> None:
    first = api.ok("crm", "addOrUpdateTask", TASK)["id"]
    second = api.ok("crm", "addOrUpdateTask", {**TASK, "name": "Second"})["id"]
    assert second > first
    listing = api.ok("crm", "getTaskList", {})
    assert listing["meta"]["totalResults"] == 2
    assert [t["name"] for t in listing["results"]] == ["Call Jane", "Second"]


def test_numeric_strings_are_coerced(api, inspector) -> None:
    api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": "1", "assignedUserId": "3"})
    task = only_task(inspector)
    assert (task["contactId"], task["assignedUserId"]) == (1, 3)


def test_update_changes_given_fields_and_keeps_the_owner(api, inspector) -> None:
    task_id = api.ok("crm", "addOrUpdateTask", {**TASK, "priority": "low"})["id"]
    answer = api.ok("crm", "addOrUpdateTask", {"id": task_id, "status": 4})
    assert answer == {"success": True, "id": task_id}
    task = only_task(inspector)
    assert (task["status"], task["priority"], task["contactId"]) == (4, "low", 1)


def test_company_and_contact_attach_the_task_to_the_company(api, inspector) -> None:
    contact_id = api.ok(
        "contact",
        "addOrUpdateContact",
        {"firstName": "Lee", "lastName": "Wong", "email": "lee@example.com"},
    )["id"]
    api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": contact_id, "companyId": 1})
    task = only_task(inspector)
    assert (task["companyId"], task["contactId"], task["companyContactId"]) == (1, None, contact_id)
    contact = next(c for c in inspector.get("contacts") if c["id"] == contact_id)
    assert contact["companies"] == [1]


def test_lead_owner(api, inspector) -> None:
    api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": None, "leadId": 1})
    task = only_task(inspector)
    assert (task["leadId"], task["contactId"], task["companyId"]) == (1, None, None)


def test_opportunity_owner_needs_its_venue(api, inspector) -> None:
    body = {**TASK, "contactId": None, "leadId": 2}
    assert api.error("crm", "addOrUpdateTask", body) == (400, 23017)
    assert api.error("crm", "addOrUpdateTask", {**body, "venueId": 2}) == (400, 24389)
    api.ok("crm", "addOrUpdateTask", {**body, "venueId": 1})
    assert (only_task(inspector)["leadId"], only_task(inspector)["venueId"]) == (2, 1)


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        ({"id": "wrong"}, (400, 23016)),
        ({"leadId": "abc"}, (400, 23016)),
        ({"status": "done"}, (400, 23016)),
        ({"assignedUserId": True}, (400, 23016)),
        ({"name": 5}, (400, 23016)),
        ({"name": None}, (400, 23017)),
        ({"name": "  "}, (400, 23017)),
        ({"endDatetime": None}, (400, 23017)),
        ({"leadId": 999, "contactId": None}, (400, 24389)),
        ({"contactId": 999}, (400, 24390)),
        ({"companyId": 999, "contactId": None}, (400, 24391)),
        ({"companyId": 1, "contactId": 999}, (400, 24390)),
        ({"companyId": 999}, (400, 24391)),
        ({"id": 999}, (400, 24392)),
        ({"priority": "urgent"}, (400, 24395)),
        ({"priority": "HIGH"}, (400, 24395)),
        ({"status": 5}, (400, 24395)),
        ({"status": -1}, (400, 24395)),
        ({"endDatetime": "07/05/2024 9am"}, (400, 24395)),
        ({"assignedUserId": 999}, (400, 24395)),
        ({"venueId": 999}, (400, 24395)),
        ({"contactId": None}, (400, 24395)),
        ({"leadId": 1}, (400, 24396)),
        ({"leadId": 1, "contactId": None, "companyId": 1}, (400, 24396)),
        ({"leadId": 999, "companyId": 1}, (400, 24396)),
    ],
)
def test_refusals(api, inspector, body: dict, codes: tuple[int, int]) -> None:
    assert api.error("crm", "addOrUpdateTask", {**TASK, **body}) == codes
    assert inspector.get("tasks") == []


def test_validation_messages_name_the_parameter(api) -> None:
    status, answer = api.call("crm", "addOrUpdateTask", {**TASK, "id": "wrong"})
    assert status == 400
    assert answer["message"] == "'id' does not validate"
    assert answer["additionalMessages"] == ["Value must be a whole number"]
    status, answer = api.call("crm", "addOrUpdateTask", {"contactId": 1})
    assert status == 400
    assert answer["message"] == "'name' is required"


def test_a_refused_company_task_does_not_link_the_contact(api, inspector) -> None:
    contact_id = api.ok(
        "contact",
        "addOrUpdateContact",
        {"firstName": "Lee", "lastName": "Wong", "email": "lee@example.com"},
    )["id"]
    body = {**TASK, "contactId": contact_id, "companyId": 1, "priority": "urgent"}
    assert api.error("crm", "addOrUpdateTask", body) == (400, 24395)
    contact = next(c for c in inspector.get("contacts") if c["id"] == contact_id)
    assert contact["companies"] == []


def test_task_list_by_venue(api) -> None:
    api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": None, "leadId": 2, "venueId": 1})
    api.ok("crm", "addOrUpdateTask", TASK)
    assert api.ok("crm", "getTaskList", {"venueId": 1})["meta"]["totalResults"] == 1
    assert api.ok("crm", "getTaskList", {"venueId": 2})["meta"]["totalResults"] == 0
    # Without a venue: the account's tasks, not the opportunity's.
    account = api.ok("crm", "getTaskList", {})["results"]
    assert [(t["contactId"], t["leadId"]) for t in account] == [(1, None)]


def test_a_contact_task_with_a_venue_is_listed_with_the_accounts(api) -> None:
    # The page's own update example: a venueId with a contact and a company, no lead.
    body = {**TASK, "companyId": 1, "venueId": 1}
    api.ok("crm", "addOrUpdateTask", body)
    listed = api.ok("crm", "getTaskList", {})["results"]
    assert [(t["companyId"], t["companyContactId"], t["venueId"]) for t in listed] == [(1, 1, 1)]


def test_an_inactive_assignee_passes_validation_then_fails_with_24394(api, inspector) -> None:
    status, answer = api.call("crm", "addOrUpdateTask", {**TASK, "assignedUserId": 4})
    assert (status, answer["specificCode"]) == (400, 24394)
    assert answer["additionalMessages"] == ["The assigned user is not active"]
    assert inspector.get("tasks") == []


def test_a_description_too_long_to_store_fails_with_24393(api, inspector) -> None:
    fits = "é" * (65_535 // 2)
    api.ok("crm", "addOrUpdateTask", {**TASK, "description": fits})
    too_long = {**TASK, "description": fits + "é"}
    assert api.error("crm", "addOrUpdateTask", too_long) == (400, 24393)
    assert len(inspector.get("tasks")) == 1
