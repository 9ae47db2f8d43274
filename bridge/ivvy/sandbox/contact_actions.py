"""The ``contact`` namespace: contacts and companies (leads live in lead_actions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.ivvy.sandbox.body_fields import (
    bool_field,
    format_timestamp,
    int_field,
    require,
    str_field,
)
from bridge.ivvy.sandbox.collections import matches, page_of
from bridge.ivvy.sandbox.errors import ApiError, not_valid, required
from bridge.ivvy.sandbox.state import Record, SandboxState

CONTACT_NOT_FOUND = 24096
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONTACT_FIELDS = (
    "externalId", "firstName", "lastName", "email", "phone", "groups", "customFields",
    "companies", "status", "smsStatus", "externalUrls",
)  # fmt: skip
COMPANY_FIELDS = (
    "externalId", "businessName", "tradingName", "businessNumber", "phone", "otherPhone", "fax",
    "website", "email", "address", "primaryContactId", "primaryAccountManagerId",
    "secondaryAccountManagerId", "industryId", "isAgent", "iataNumber", "customFields",
    "externalUrls",
)  # fmt: skip


def render_contact(state: SandboxState, record: Mapping[str, Any]) -> dict[str, Any]:
    """A contact as getContact / getContactList return it."""
    companies = list(record.get("companies") or [])
    companies_data = [
        {"id": company["id"], "businessName": company.get("businessName")}
        for company in (state.get("companies", company_id) for company_id in companies)
        if company is not None
    ]
    return {
        "externalId": None, "phone": None, "customFields": [], "groups": [], "status": 1,
        "smsStatus": 4, "isAnonymised": False, "externalUrls": [], "privacyConsentData": None,
        **record,
        "companies": companies,
        "companiesData": companies_data,
    }  # fmt: skip


def contact_summary(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{id, firstName, lastName, email, phone}`` as nested in leads and companies."""
    if record is None:
        return None
    return {key: record.get(key) for key in ("id", "firstName", "lastName", "email", "phone")}


def render_company(state: SandboxState, record: Mapping[str, Any]) -> dict[str, Any]:
    """A company as getCompanyList returns it."""
    primary = state.get("contacts", record.get("primaryContactId"))
    return {
        "externalId": None, "tradingName": None, "businessNumber": None, "phone": None,
        "email": None, "website": None, "address": None, "customFields": [], "isAgent": 0,
        "parentCompanyId": None,
        **record,
        "primaryContact": contact_summary(primary),
    }  # fmt: skip


def get_contact_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.getContactList."""
    rendered = [render_contact(state, r) for _, r in sorted(state.table("contacts").items())]
    special = {
        "companyId": lambda record, wanted: matches(record.get("companies"), "", wanted),
        "venueId": lambda record, wanted: True,  # contacts are account-wide here
        "venueGroupId": lambda record, wanted: True,
    }
    return page_of(rendered, body, special=special)


def get_contact(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.getContact."""
    contact_id = int_field(body, "id")
    if contact_id is None:
        raise required("id")
    record = state.get("contacts", contact_id)
    if record is None:
        raise ApiError(400, "Unable to find contact", CONTACT_NOT_FOUND)
    return render_contact(state, record)


def add_or_update_contact(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.addOrUpdateContact."""
    return {"success": True, "id": upsert_contact(state, body, now)}


def upsert_contact(state: SandboxState, body: Mapping[str, Any], now: datetime) -> int:
    """Create or update a contact from an addOrUpdateContact body; its id."""
    contact_id = int_field(body, "id")
    for name in ("externalId", "firstName", "lastName", "email", "phone"):
        str_field(body, name)
    email = body.get("email")
    if email is not None and not EMAIL_PATTERN.match(email):
        raise not_valid("email", "Value must be a valid email address")
    _check_ids_exist(state, body.get("companies"), "companies", "companies")
    changes = {name: body[name] for name in CONTACT_FIELDS if name in body}
    if contact_id is None and bool_field(body, "updateIfExists"):
        existing = _matching_contact(state, body)
        contact_id = existing["id"] if existing else None
    if contact_id is not None:
        record = state.get("contacts", contact_id)
        if record is None:
            raise ApiError(400, "Unable to find contact", CONTACT_NOT_FOUND)
        record.update(changes, modifiedDate=format_timestamp(now))
        return contact_id
    require(body, "firstName", "lastName", "email")
    stamp = format_timestamp(now)
    created = {"companies": [], **changes, "createdDate": stamp, "modifiedDate": stamp}
    return int(state.insert("contacts", created)["id"])


def _matching_contact(state: SandboxState, body: Mapping[str, Any]) -> Record | None:
    def key(source: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(
            str(source.get(n) or "").casefold() for n in ("firstName", "lastName", "email")
        )

    wanted = key(body)
    found = [r for _, r in sorted(state.table("contacts").items()) if key(r) == wanted]
    return found[0] if found else None


def _check_ids_exist(state: SandboxState, value: Any, kind: str, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise not_valid(name, "Value must be a list of ids")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or state.get(kind, item) is None:
            raise not_valid(name, f"{item!r} is not the id of an existing record")


def get_company_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.getCompanyList."""
    rendered = [render_company(state, r) for _, r in sorted(state.table("companies").items())]
    special = {"venueId": lambda record, wanted: True, "venueGroupId": lambda record, wanted: True}
    return page_of(rendered, body, special=special)


def add_or_update_company(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.addOrUpdateCompany."""
    return {"success": True, "id": upsert_company(state, body, now)}


def upsert_company(state: SandboxState, body: Mapping[str, Any], now: datetime) -> int:
    """Create or update a company from an addOrUpdateCompany body; its id."""
    company_id = int_field(body, "id")
    for name in ("externalId", "businessName", "tradingName", "email", "phone"):
        str_field(body, name)
    primary_id = int_field(body, "primaryContactId")
    if primary_id is not None and state.get("contacts", primary_id) is None:
        raise not_valid("primaryContactId", "No contact has this id")
    changes = {name: body[name] for name in COMPANY_FIELDS if name in body}
    if company_id is None and bool_field(body, "updateIfExists"):
        name = str(body.get("businessName") or "").casefold()
        same = [r for _, r in sorted(state.table("companies").items())]
        same = [r for r in same if str(r.get("businessName") or "").casefold() == name]
        company_id = same[0]["id"] if same else None
    record = state.get("companies", company_id)
    if company_id is not None and record is None:
        raise not_valid("id", "No company has this id")
    if record is None:
        require(body, "businessName")
    if isinstance(body.get("primaryContact"), Mapping):
        changes["primaryContactId"] = upsert_contact(state, body["primaryContact"], now)
    stamp = format_timestamp(now)
    if record is not None:
        record.update(changes, modifiedDate=stamp)
        return int(record["id"])
    created = {**changes, "createdDate": stamp, "modifiedDate": stamp}
    return int(state.insert("companies", created)["id"])
