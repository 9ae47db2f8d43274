"""Every documented iVvy notification subject: its endpoint, body shape and payload schema.

Body shapes (API notes section 9.4/9.5):

- ``record``: ``{"data": X, "previousData": {...}}``; ``data`` is X, ``previous_data`` the prior
  values (``{}`` when absent, or ``[]`` as PHP encodes an empty array).
- ``ids``: a small id object (``*Deleted``, ``VenueGuestAnonymised``); it becomes ``data``.
- ``items``: ARI updates, whose ``data`` is an array; it becomes ``data["items"]``.

Keys beside ``data``/``previousData`` (``bookingStatus``, ``newestData``) stay in the event's
``raw["body"]``.  Schemas keep unknown keys; ids given as digit strings are loaded as ints.
``person`` names where the natural contact sits in ``data`` (``""`` = ``data`` itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields


class IvvyId(fields.Field):
    """An id sent as an int or a digit string, loaded as an int."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool):
            raise ValidationError("not an id")
        if isinstance(value, int):
            return value
        text = value.strip() if isinstance(value, str) else ""
        # ASCII digits only ("²".isdigit() is true, and int() refuses it), and few of them.
        if text.isascii() and text.isdigit() and len(text) <= 18:
            return int(text)
        raise ValidationError("not an id")


def _id(required: bool = False) -> IvvyId:
    return IvvyId(required=required, allow_none=not required)


class LooseSchema(Schema):
    """Keeps every key it does not declare; iVvy adds fields over time."""

    class Meta:
        unknown = INCLUDE


class PersonSchema(LooseSchema):
    """A nested contact or user: ``{id, firstName, lastName, email, phone}``."""

    id = _id()


class CompanyRefSchema(LooseSchema):
    """A nested company: ``{id, businessName, ...}``."""

    id = _id()


class CompanySchema(LooseSchema):
    """getCompany."""

    id = _id(required=True)
    primaryContact = fields.Nested(PersonSchema, allow_none=True)


class ContactSchema(LooseSchema):
    """getContact."""

    id = _id(required=True)


class ContactNoteSchema(LooseSchema):
    """getContactNoteList item: ``{id, contactId, noteText, ...}``."""

    id = _id(required=True)
    contactId = _id()


class OpportunitySchema(LooseSchema):
    """getOpportunityList item."""

    id = _id(required=True)
    venueId = _id()
    contact = fields.Nested(PersonSchema, allow_none=True)
    company = fields.Nested(CompanyRefSchema, allow_none=True)
    ownerUser = fields.Nested(PersonSchema, allow_none=True)


class CrmItemSchema(LooseSchema):
    """getTaskList / getActivityList item (attached to a lead, contact or company)."""

    id = _id(required=True)
    venueId = _id()
    leadId = _id()
    contactId = _id()
    companyId = _id()
    assignedUserId = _id()


class LeadNoteSchema(LooseSchema):
    """getLeadNoteList item: ``{id, leadId, note, ...}``."""

    id = _id(required=True)
    leadId = _id()


class InvoiceSchema(LooseSchema):
    """getInvoice."""

    id = _id(required=True)
    venueId = _id()
    contact = fields.Nested(PersonSchema, allow_none=True)
    company = fields.Nested(CompanyRefSchema, allow_none=True)


class BookingSchema(LooseSchema):
    """getBooking (very large; only the links are declared)."""

    id = _id(required=True)
    venueId = _id()
    contactId = _id()
    companyId = _id()
    opportunityId = _id()
    contact = fields.Nested(PersonSchema, allow_none=True)
    company = fields.Nested(CompanyRefSchema, allow_none=True)


class VenueItemSchema(LooseSchema):
    """A booking's session, accommodation, room reservation, note, document or BEO item."""

    id = _id()
    venueId = _id()
    bookingId = _id()


class SpaceBlockoutSchema(LooseSchema):
    """getSpaceBlockoutList item: ``{id, venueId, spaceId, name, start/end dates}``."""

    id = _id(required=True)
    venueId = _id()
    spaceId = _id()


class AriItemSchema(LooseSchema):
    """One ARI row: ``{date, roomId, ...}`` (inventory, rates or booking rules)."""

    roomId = _id()
    barId = _id()
    date = fields.String(required=True)


def ids_schema(*names: str) -> type[Schema]:
    """A loose schema requiring these id keys (a ``*Deleted`` body)."""
    declared: dict[str, fields.Field] = {name: _id(required=True) for name in names}
    schema: type[Schema] = LooseSchema.from_dict(declared, name="Ids_" + "_".join(names))
    return schema


@dataclass(frozen=True)
class SubjectSpec:
    """How one subject's Body is read."""

    subject: str
    endpoint: str
    shape: str  # "record" | "ids" | "items"
    schema: type[Schema]
    person: str | None = None


SUBJECTS: dict[str, SubjectSpec] = {}


def _add(endpoint: str, shape: str, schema: type[Schema], person: str | None, *names: str) -> None:
    for name in names:
        SUBJECTS[name] = SubjectSpec(name, endpoint, shape, schema, person)


def _records(endpoint: str, schema: type[Schema], person: str | None, *names: str) -> None:
    _add(endpoint, "record", schema, person, *names)


def _ids(endpoint: str, subject: str, *names: str) -> None:
    _add(endpoint, "ids", ids_schema(*names), None, subject)


_records("companies", CompanySchema, "primaryContact", "CompanyAdded", "CompanyUpdated")
_ids("companies", "CompanyDeleted", "companyId")

_records("contacts", ContactSchema, "", "ContactAdded", "ContactUpdated")
_ids("contacts", "ContactDeleted", "contactId")
_records("contacts", ContactNoteSchema, None, "ContactNoteAdded", "ContactNoteUpdated")
_ids("contacts", "ContactNoteDeleted", "noteId")

_records("crm", OpportunitySchema, "contact", "OpportunityAdded", "OpportunityUpdated")
_ids("crm", "OpportunityDeleted", "venueId", "opportunityId")
_records("crm", CrmItemSchema, None, "CrmEventTaskAdded", "CrmEventTaskUpdated")
_ids("crm", "CrmEventTaskDeleted", "taskId")
_records("crm", CrmItemSchema, None, "CrmEventActivityAdded", "CrmEventActivityUpdated")
_ids("crm", "CrmEventActivityDeleted", "activityId")
_records("crm", LeadNoteSchema, None, "CrmLeadNoteAdded", "CrmLeadNoteUpdated")
_ids("crm", "CrmLeadNoteDeleted", "noteId")

_records("payments", InvoiceSchema, "contact", "InvoiceAdded", "InvoiceUpdated")

_records("venues", BookingSchema, "contact", "BookingAdded", "BookingUpdated", "BookingMoved")
_ids("venues", "BookingDeleted", "venueId", "bookingId")
_records("venues", VenueItemSchema, None, "BookingSessionAdded", "BookingSessionUpdated")
_ids("venues", "BookingSessionDeleted", "venueId", "bookingId", "sessionId")
_records(
    "venues",
    VenueItemSchema,
    None,
    "BookingAccommodationAdded",
    "BookingAccommodationUpdated",
    "BookingAccommodationMoved",  # .NET consumer only
)
_ids("venues", "BookingAccommodationDeleted", "venueId", "bookingId", "accommodationId")
_records(
    "venues",
    VenueItemSchema,
    None,
    "BookingRoomReservationAdded",
    "BookingRoomReservationUpdated",
    "BookingRoomReservationConfirmed",  # .NET consumer only
    "BookingRoomReservationCancelled",  # .NET consumer only
)
_ids("venues", "BookingRoomReservationDeleted", "venueId", "bookingId", "reservationId")
_records("venues", VenueItemSchema, None, "BookingNoteAdded", "BookingNoteUpdated")
_ids("venues", "BookingNoteDeleted", "noteId")
_records("venues", SpaceBlockoutSchema, None, "SpaceBlockoutAdded", "SpaceBlockoutUpdated")
_ids("venues", "SpaceBlockoutDeleted", "venueId", "spaceBlockoutId")
_records("venues", VenueItemSchema, None, "BookingDocumentGenerated", "BookingBeoGenerated")
_ids("venues", "BookingDocumentDeleted", "venueId", "bookingId", "documentId")
_ids("venues", "BookingBeoDeleted", "venueId", "bookingId", "beoId")
_ids("venues", "VenueGuestAnonymised", "guestContactId")  # .NET consumer only

_add(
    "ari",
    "items",
    AriItemSchema,
    None,
    "RoomInventoryUpdated",
    "RoomRatesUpdated",
    "RatePlanBookingRulesUpdated",
)

_BY_LOWER = {name.lower(): spec for name, spec in SUBJECTS.items()}


def find_subject(subject: str) -> SubjectSpec | None:
    """The catalogue entry for a subject (case-insensitive), or None for an unknown one."""
    return _BY_LOWER.get(subject.lower())


def load_body(spec: SubjectSpec, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(data, previous_data)`` for a decoded Body; ValidationError if it has the wrong shape."""
    if not isinstance(body, dict):
        raise ValidationError("the Body is not an object")
    if spec.shape == "ids":
        return dict(spec.schema().load(body)), {}
    data = body.get("data")
    if spec.shape == "items":
        if not isinstance(data, list):
            raise ValidationError("data is not an array", field_name="data")
        return {"items": list(spec.schema(many=True).load(data))}, _previous(body)
    if not isinstance(data, dict):
        raise ValidationError("data is not an object", field_name="data")
    return dict(spec.schema().load(data)), _previous(body)


def _previous(body: Mapping[str, Any]) -> dict[str, Any]:
    previous = body.get("previousData")
    return dict(previous) if isinstance(previous, dict) else {}


def person_of(spec: SubjectSpec, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The contact-like object of a record (the contact itself, a booking's contact...)."""
    if spec.person is None:
        return None
    person = data if spec.person == "" else data.get(spec.person)
    return person if isinstance(person, Mapping) else None
