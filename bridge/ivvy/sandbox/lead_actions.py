"""Leads and opportunities: contact.addOrUpdateLead, crm.getLeadList, crm.getOpportunityList.

An opportunity is stored as a lead with a ``venueId``; both share one id space, as a task's
``leadId`` may name either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.ivvy.sandbox.body_fields import coerce_int, format_timestamp, int_field, require
from bridge.ivvy.sandbox.collections import page_of
from bridge.ivvy.sandbox.contact_actions import contact_summary, upsert_company, upsert_contact
from bridge.ivvy.sandbox.errors import ApiError, not_valid
from bridge.ivvy.sandbox.state import Record, SandboxState

EMPTY_REQUEST = 24215
LEAD_NOT_FOUND = 24216
INVALID_LEAD = 24218
LEAD_STAGES = {1: "New", 2: "Qualified", 3: "Proposal Sent", 4: "Won", 5: "Lost"}
ID_FIELDS = (
    "sourceId", "typeId", "subtypeId", "stageId", "stageReasonId", "qualityId", "channelId",
    "industryId", "companyId", "companyLeadContactId", "contactId", "ownerUserId",
)  # fmt: skip
COPIED_FIELDS = ("name", "description", "customFields")


def render_lead(state: SandboxState, record: Mapping[str, Any]) -> dict[str, Any]:
    """A lead (or opportunity) as the list actions return it."""
    owner = state.get("users", record.get("ownerUserId"))
    company = state.get("companies", record.get("companyId"))
    company_keys = ("id", "businessName", "businessNumber", "phone", "email")
    stage_id = record.get("stageId")
    rendered = {
        "description": None, "contactId": None, "companyId": None, "companyLeadContactId": None,
        "ownerUserId": None, "qualityId": None, "stageReasonId": None, "subtypeId": None,
        "channelId": None, "currentBookingId": None, "closedDate": None,
        "lostToCompetition": None,
        **record,
        "ownerUser": contact_summary(owner),
        "contact": contact_summary(state.get("contacts", record.get("contactId"))),
        "company": None if company is None else {key: company.get(key) for key in company_keys},
        "stageName": record.get("stageName") or LEAD_STAGES.get(stage_id or 0),
    }  # fmt: skip
    if record.get("venueId") is None:
        rendered.pop("venueId", None)
    else:
        rendered.setdefault("externalUrls", [])
    return rendered


def get_lead_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """crm.getLeadList: the leads that are not opportunities."""
    leads = [r for _, r in sorted(state.table("leads").items()) if r.get("venueId") is None]
    return page_of([render_lead(state, r) for r in leads], body)


def get_opportunity_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """crm.getOpportunityList, narrowed by ``venueIds`` (or ``venueId``, as iVvy's example has)."""
    venues = _venue_ids(body)
    opportunities = [
        r
        for _, r in sorted(state.table("leads").items())
        if r.get("venueId") is not None and (venues is None or r["venueId"] in venues)
    ]
    return page_of([render_lead(state, r) for r in opportunities], body)


def _venue_ids(body: Mapping[str, Any]) -> set[int] | None:
    name = "venueIds" if "venueIds" in body else "venueId"
    value = body.get(name)
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    ids = {coerce_int(item) for item in items}
    if None in ids:
        raise not_valid(name, "Value must be a list of whole numbers")
    return {i for i in ids if i is not None}


def add_or_update_lead(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """contact.addOrUpdateLead."""
    if not body:
        raise ApiError(400, "Empty request", EMPTY_REQUEST)
    lead_id = int_field(body, "id")
    ids = {name: int_field(body, name) for name in ID_FIELDS}
    record = state.get("leads", lead_id)
    if lead_id is not None and record is None:
        raise ApiError(400, "Lead does not exist", LEAD_NOT_FOUND)
    if record is None:
        require(body, "name", "sourceId", "typeId", "stageId")
    _check_references(state, body, ids, creating=record is None)
    changes: Record = {name: body[name] for name in COPIED_FIELDS if name in body}
    changes.update({name: value for name, value in ids.items() if name in body})
    if isinstance(body.get("company"), Mapping):
        changes["companyId"] = upsert_company(state, body["company"], now)
    if isinstance(body.get("contact"), Mapping):
        changes["contactId"] = upsert_contact(state, body["contact"], now)
    _link_company_contact(state, changes)
    stamp = format_timestamp(now)
    if record is not None:
        record.update(changes, modifiedDate=stamp)
        return {"success": True, "id": record["id"]}
    created: Record = {name: None for name in (*ID_FIELDS, "description", "venueId")}
    created |= {**changes, "createdDate": stamp, "modifiedDate": stamp}
    return {"success": True, "id": state.insert("leads", created)["id"]}


def _invalid(detail: str) -> ApiError:
    return ApiError(400, "Invalid lead details", INVALID_LEAD, [detail])


def _check_references(
    state: SandboxState, body: Mapping[str, Any], ids: Mapping[str, int | None], *, creating: bool
) -> None:
    has_contact = ids["contactId"] is not None or isinstance(body.get("contact"), Mapping)
    has_company = ids["companyId"] is not None or isinstance(body.get("company"), Mapping)
    if creating and not (has_contact or has_company):
        raise _invalid("A lead belongs to a contact (contactId or contact) or a company")
    if creating and not has_company and ids["industryId"] is None:
        # The Add or Update Lead page: industryId is required when the lead belongs to a contact.
        raise _invalid("industryId is required for a lead that belongs to a contact")
    for name, kind in (
        ("contactId", "contacts"),
        ("companyId", "companies"),
        ("companyLeadContactId", "contacts"),
        ("ownerUserId", "users"),
    ):
        if ids[name] is not None and state.get(kind, ids[name]) is None:
            raise _invalid(f"{name} does not name an existing record")
    lead_contact = state.get("contacts", ids["companyLeadContactId"])
    company_id = ids["companyId"]
    if (
        lead_contact is not None
        and company_id is not None
        and not has_contact
        and company_id not in (lead_contact.get("companies") or [])
    ):
        raise _invalid("companyLeadContactId must be a contact of the company")


def _link_company_contact(state: SandboxState, changes: Record) -> None:
    """A lead given both a company and a contact links the contact to the company."""
    company_id, contact_id = changes.get("companyId"), changes.get("contactId")
    if company_id is None or contact_id is None:
        return
    contact = state.get("contacts", contact_id)
    if contact is not None and company_id not in (contact.get("companies") or []):
        contact["companies"] = [*(contact.get("companies") or []), company_id]
    changes["companyLeadContactId"] = contact_id
    changes["contactId"] = None
