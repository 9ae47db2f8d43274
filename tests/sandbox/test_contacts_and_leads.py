"""The contact namespace, leads, opportunities, users and venues as the sandbox answers them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

JANE = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@example.com"}
LEAD = {"name": "Wedding enquiry", "sourceId": 1, "typeId": 1, "stageId": 1, "industryId": 2}


def test_get_contact(api) -> None:
    contact = api.ok("contact", "getContact", {"id": 1})
    assert (contact["firstName"], contact["email"]) == ("Jane", "jane.doe@example.com")
    assert contact["companiesData"] == [{"id": 1, "businessName": "Acme Events Pty Ltd"}]


@pytest.mark.parametrize(
    ("body", "codes"),
    [({}, (400, 23017)), ({"id": "wrong"}, (400, 23016)), ({"id": 999}, (400, 24096))],
)
def test_get_contact_refusals(api, body: dict, codes: tuple[int, int]) -> None:
    assert api.error("contact", "getContact", body) == codes


def test_add_contact_then_find_it_by_email(api) -> None:
    body = {"firstName": "Lee", "lastName": "Wong", "email": "Lee.Wong@Example.com", "phone": "1"}
    contact_id = api.ok("contact", "addOrUpdateContact", body)["id"]
    found = api.ok("contact", "getContactList", {"filter": {"email": "lee.wong@example.com"}})
    assert [c["id"] for c in found["results"]] == [contact_id]
    assert found["results"][0]["phone"] == "1"


@pytest.mark.parametrize("missing", ["firstName", "lastName", "email"])
def test_add_contact_requires_identity(api, missing: str) -> None:
    body = {k: v for k, v in JANE.items() if k != missing}
    assert api.error("contact", "addOrUpdateContact", body) == (400, 23017)


@pytest.mark.parametrize(
    "extra", [{"email": "not-an-email"}, {"companies": [999]}, {"companies": 1}, {"phone": 5}]
)
def test_add_contact_validates(api, extra: dict) -> None:
    assert api.error("contact", "addOrUpdateContact", {**JANE, **extra}) == (400, 23016)


def test_update_if_exists_matches_name_and_email(api, inspector) -> None:
    same = {**JANE, "email": "JANE.DOE@example.com", "phone": "0455550000", "updateIfExists": True}
    assert api.ok("contact", "addOrUpdateContact", same)["id"] == 1
    assert len(inspector.get("contacts")) == 1
    assert inspector.get("contacts")[0]["phone"] == "0455550000"
    assert api.ok("contact", "addOrUpdateContact", JANE)["id"] == 2  # without the flag: a new one


def test_update_contact_by_id(api) -> None:
    assert api.ok("contact", "addOrUpdateContact", {"id": 1, "phone": "02"})["id"] == 1
    assert api.ok("contact", "getContact", {"id": 1})["phone"] == "02"
    assert api.error("contact", "addOrUpdateContact", {"id": 77, "phone": "02"}) == (400, 24096)


def test_contacts_filtered_by_company(api) -> None:
    api.ok("contact", "addOrUpdateContact", {**JANE, "email": "other@example.com"})
    found = api.ok("contact", "getContactList", {"filter": {"companyId": 1}})
    assert [c["id"] for c in found["results"]] == [1]


def test_companies(api) -> None:
    assert api.error("contact", "addOrUpdateCompany", {"phone": "1"}) == (400, 23017)
    company_id = api.ok("contact", "addOrUpdateCompany", {"businessName": "Globex"})["id"]
    again = {"businessName": "GLOBEX", "phone": "9", "updateIfExists": True}
    assert api.ok("contact", "addOrUpdateCompany", again)["id"] == company_id
    found = api.ok("contact", "getCompanyList", {"filter": {"businessName__BEGINS": "glo"}})
    assert [(c["id"], c["phone"]) for c in found["results"]] == [(company_id, "9")]


def test_company_with_a_primary_contact_object(api) -> None:
    body = {"businessName": "Initech", "primaryContact": {**JANE, "email": "bill@initech.example"}}
    company_id = api.ok("contact", "addOrUpdateCompany", body)["id"]
    found = api.ok("contact", "getCompanyList", {"filter": {"id": company_id}})["results"]
    assert found[0]["primaryContact"]["email"] == "bill@initech.example"


def test_add_lead_for_an_existing_contact(api) -> None:
    lead_id = api.ok("contact", "addOrUpdateLead", {**LEAD, "contactId": 1})["id"]
    leads = api.ok("crm", "getLeadList", {"filter": {"id": lead_id}})["results"]
    assert leads[0]["contact"]["email"] == "jane.doe@example.com"
    assert leads[0]["stageName"] == "New"
    assert "venueId" not in leads[0]


def test_add_lead_with_a_contact_object_creates_the_contact(api, inspector) -> None:
    contact = {"firstName": "Ana", "lastName": "Silva", "email": "ana@example.com"}
    api.ok("contact", "addOrUpdateLead", {**LEAD, "contact": contact})
    assert [c["email"] for c in inspector.get("contacts")][-1] == "ana@example.com"


def test_company_lead_links_its_contact(api, inspector) -> None:
    contact_id = api.ok("contact", "addOrUpdateContact", {**JANE, "email": "b@example.com"})["id"]
    # No industryId: only a lead that belongs to a contact needs one.
    body = {**LEAD, "industryId": None, "companyId": 1, "contactId": contact_id}
    lead_id = api.ok("contact", "addOrUpdateLead", body)["id"]
    lead = next(x for x in inspector.get("leads") if x["id"] == lead_id)
    assert (lead["companyId"], lead["companyLeadContactId"]) == (1, contact_id)
    assert next(c for c in inspector.get("contacts") if c["id"] == contact_id)["companies"] == [1]


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        ({}, (400, 24215)),
        ({**LEAD, "id": 999}, (400, 24216)),
        ({**LEAD}, (400, 24218)),
        ({**LEAD, "contactId": 999}, (400, 24218)),
        ({**LEAD, "companyId": 999}, (400, 24218)),
        ({**LEAD, "contactId": 1, "ownerUserId": 999}, (400, 24218)),
        ({**LEAD, "contactId": 1, "industryId": None}, (400, 24218)),
        ({"name": "x", "contactId": 1}, (400, 23017)),
        ({**LEAD, "sourceId": "web", "contactId": 1}, (400, 23016)),
    ],
)
def test_lead_refusals(api, inspector, body: dict, codes: tuple[int, int]) -> None:
    assert api.error("contact", "addOrUpdateLead", body) == codes
    assert len(inspector.get("leads")) == 2


def test_leads_and_opportunities_are_listed_apart(api) -> None:
    leads = api.ok("crm", "getLeadList", {})["results"]
    opportunities = api.ok("crm", "getOpportunityList", {})["results"]
    assert [x["id"] for x in leads] == [1]
    assert [(x["id"], x["venueId"]) for x in opportunities] == [(2, 1)]
    assert opportunities[0]["company"]["businessName"] == "Acme Events Pty Ltd"
    assert api.ok("crm", "getOpportunityList", {"venueIds": [2]})["results"] == []
    assert len(api.ok("crm", "getOpportunityList", {"venueId": ["1"]})["results"]) == 1


def test_users_have_names_emails_and_status(api) -> None:
    users = api.ok("account", "getUserList", {"perPage": 100})["results"]
    active = [u for u in users if u["currentStatus"] == 1]
    assert len(active) >= 3
    assert all(u["email"] and u["firstName"] and u["lastName"] for u in active)
    assert api.ok("account", "getUserList", {"venueId": 1})["meta"]["totalResults"] == len(users)


def test_venues_have_real_timezones(api) -> None:
    venues = api.ok("venue", "getVenueList", {})["results"]
    zones = {v["id"]: v["timezone"] for v in venues}
    assert zones == {1: "Australia/Sydney", 2: "Europe/London"}
    assert all(ZoneInfo(zone) for zone in zones.values())
