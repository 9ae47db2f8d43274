"""Every subject family parses from iVvy's sample bodies, re-signed; unknown subjects are acked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.sources.base import Accepted, Acknowledged, PayloadInvalid
from bridge.sources.ivvy_subjects import SUBJECTS, find_subject
from tests.sources.ivvy_support.world import World, deliver

SAMPLES = Path(__file__).parents[1] / "fixtures" / "samples"
NOW = datetime.now(UTC).replace(microsecond=0)

# iVvy's notification pages (https://developer.ivvy.com/notifications), endpoint by endpoint,
# plus the extra subjects of iVvy's .NET consumer (github.com/ivvycode/ivvy-subscriptions-net).
DOCUMENTED = {
    "companies": "CompanyAdded CompanyUpdated CompanyDeleted",
    "contacts": "ContactAdded ContactUpdated ContactDeleted ContactNoteAdded ContactNoteUpdated "
    "ContactNoteDeleted",
    "crm": "OpportunityAdded OpportunityUpdated OpportunityDeleted CrmEventTaskAdded "
    "CrmEventTaskUpdated CrmEventTaskDeleted CrmEventActivityAdded CrmEventActivityUpdated "
    "CrmEventActivityDeleted CrmLeadNoteAdded CrmLeadNoteUpdated CrmLeadNoteDeleted",
    "payments": "InvoiceAdded InvoiceUpdated",
    "venues": "BookingAdded BookingUpdated BookingMoved BookingDeleted BookingSessionAdded "
    "BookingSessionUpdated BookingSessionDeleted BookingAccommodationAdded "
    "BookingAccommodationUpdated BookingAccommodationDeleted BookingRoomReservationAdded "
    "BookingRoomReservationUpdated BookingRoomReservationDeleted BookingNoteAdded "
    "BookingNoteUpdated BookingNoteDeleted SpaceBlockoutAdded SpaceBlockoutUpdated "
    "SpaceBlockoutDeleted BookingDocumentGenerated BookingDocumentDeleted BookingBeoGenerated "
    "BookingBeoDeleted BookingAccommodationMoved BookingRoomReservationConfirmed "
    "BookingRoomReservationCancelled VenueGuestAnonymised",
    "ari": "RoomInventoryUpdated RoomRatesUpdated RatePlanBookingRulesUpdated",
}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World.start()
    yield world
    world.server.stop()


def sample_body(name: str) -> str:
    """The inner Body of a sample: a ``*.body.json`` file, or a constructed envelope's."""
    path = SAMPLES / f"ivvy-{name}"
    if name.endswith(".body.json"):
        return path.read_text()
    return str(json.loads(json.loads(path.read_text())["Message"])["Body"])


def accept(world: World, subject: str, body: Any) -> Accepted:
    envelope = world.notifier().notification(subject, body, now=NOW)
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Accepted), result
    assert result.event.kind == subject
    return result


def test_the_catalogue_holds_every_documented_subject_with_its_endpoint() -> None:
    expected = {
        subject: endpoint for endpoint, names in DOCUMENTED.items() for subject in names.split()
    }
    assert {name: spec.endpoint for name, spec in SUBJECTS.items()} == expected
    assert find_subject("opportunityupdated") is SUBJECTS["OpportunityUpdated"]


def test_contact_added_fills_the_common_fields(world: World) -> None:
    event = accept(world, "ContactAdded", sample_body("ContactAdded.constructed.json")).event
    assert event.fields == {
        "first_name": "Test",
        "last_name": "User",
        "email": "user@test.com",
        "phone": "0455550000",
        "name": "Test User",
    }
    assert event.data["id"] == 7427530 and event.data["companies"] == [4, 5, 6]
    assert event.previous_data == {}


def test_opportunity_updated_takes_its_contact_and_keeps_previous_data(world: World) -> None:
    body = json.loads(sample_body("OpportunityUpdated.constructed.json"))
    body["previousData"] = {"stageName": "Interested", "stageId": 46}
    event = accept(world, "OpportunityUpdated", body).event
    assert event.data["stageName"] == "Interested" and event.data["venueId"] == 1
    assert event.previous_data == {"stageName": "Interested", "stageId": 46}
    assert event.fields["email"] == "filrst.last@email.com"
    assert event.fields["phone"] == "614535435"  # sent as a number
    assert event.context()["previousData"]["stageId"] == 46


def test_a_crm_task_keeps_its_links_and_no_person(world: World) -> None:
    event = accept(world, "CrmEventTaskAdded", sample_body("CrmEventTaskAdded.constructed.json"))
    data = event.event.data
    assert (data["id"], data["venueId"], data["assignedUserId"], data["leadId"]) == (1, 76, 1, None)
    assert data["description"] == "<p>this is description</p> "
    assert event.event.fields == {}


def test_an_invoice_update_takes_the_invoice_contact(world: World) -> None:
    event = accept(world, "InvoiceUpdated", sample_body("InvoiceUpdated.constructed.json")).event
    assert event.data["currentStatus"] == 2 and len(event.data["items"]) == 2
    assert event.fields["name"] == "First last"


def test_a_booking_takes_its_contact_and_loads_ids_given_as_strings(world: World) -> None:
    body = {
        "data": {
            "id": "9001",
            "venueId": "12",
            "name": "Smith wedding",
            "currentStatus": 3,
            "contact": {"id": 5, "firstName": "Ann", "lastName": "Smith", "email": "a@x.test"},
            "company": None,
            "sessions": [],
        },
        "previousData": [],  # PHP's empty array
    }
    event = accept(world, "BookingUpdated", body).event
    assert (event.data["id"], event.data["venueId"]) == (9001, 12)
    assert event.previous_data == {}
    assert event.fields["name"] == "Ann Smith"


def test_keys_beside_data_stay_in_the_raw_body(world: World) -> None:
    body = {
        "bookingStatus": 3,
        "data": {"id": 44, "bookingId": 9001, "roomId": 2},
        "previousData": {"roomId": 1},
        "newestData": {"roomId": 2},
    }
    event = accept(world, "BookingRoomReservationUpdated", body).event
    assert event.data == {"id": 44, "bookingId": 9001, "roomId": 2}
    assert event.raw["body"]["bookingStatus"] == 3
    assert event.raw["body"]["newestData"] == {"roomId": 2}


@pytest.mark.parametrize(
    ("subject", "sample", "expected"),
    [
        ("CompanyDeleted", "CompanyDeleted.body.json", {"companyId": 123}),
        ("ContactDeleted", "ContactDeleted.body.json", {"contactId": 123}),
        (
            "OpportunityDeleted",
            "OpportunityDeleted.body.json",
            {"venueId": 123, "opportunityId": 234},
        ),
        ("CrmEventTaskDeleted", "CrmEventTaskDeleted.body.json", {"taskId": 123}),
        (
            "BookingDeleted",
            "BookingDeleted.body.json",
            {"bookingId": 234, "sessionIds": [789, 567]},
        ),
    ],
)
def test_deleted_subjects_carry_their_id_object_as_data(
    world: World, subject: str, sample: str, expected: dict[str, Any]
) -> None:
    event = accept(world, subject, sample_body(sample)).event
    assert expected.items() <= event.data.items()
    assert event.previous_data == {}


@pytest.mark.parametrize(
    ("subject", "count", "first"),
    [
        ("RoomInventoryUpdated", 2, {"roomId": 7, "inventoryCount": 3}),
        ("RoomRatesUpdated", 2, {"barId": 63, "cost": None}),
        ("RatePlanBookingRulesUpdated", 3, {"date": "2026-05-09", "closeOutStatus": 2}),
    ],
)
def test_ari_arrays_go_under_items(
    world: World, subject: str, count: int, first: dict[str, Any]
) -> None:
    event = accept(world, subject, sample_body(f"{subject}.body.json")).event
    assert len(event.data["items"]) == count
    assert first.items() <= event.data["items"][0].items()


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("ContactNoteAdded", {"data": {"id": 1, "contactId": 2, "noteText": "hi"}}),
        ("CrmLeadNoteUpdated", {"data": {"id": 1, "leadId": 2, "note": "hi"}, "previousData": {}}),
        ("CrmEventActivityAdded", {"data": {"id": 3, "subType": 2, "leadId": 8}}),
        ("SpaceBlockoutAdded", {"data": {"id": 4, "venueId": 1, "spaceId": 2, "name": "Paint"}}),
        ("BookingBeoGenerated", {"data": {"id": 5, "bookingId": 6}, "previousData": {}}),
        ("VenueGuestAnonymised", {"guestContactId": 77}),
        ("BookingRoomReservationDeleted", {"venueId": 1, "bookingId": 2, "reservationId": 3}),
    ],
)
def test_other_families_parse(world: World, subject: str, body: dict[str, Any]) -> None:
    event = accept(world, subject, body).event
    assert event.data == body.get("data", body)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("CompanyAdded", "not json"),
        ("CompanyAdded", {"data": {"businessName": "no id"}}),
        ("CompanyAdded", {"data": [1, 2]}),
        ("CompanyDeleted", {"id": 1}),
        ("RoomInventoryUpdated", {"data": {"date": "2025-01-01"}}),
        ("ContactAdded", {"data": {"id": "seven"}}),
    ],
)
def test_a_body_of_the_wrong_shape_is_invalid(world: World, subject: str, body: Any) -> None:
    envelope = world.notifier().notification(subject, body, now=NOW)
    with pytest.raises(PayloadInvalid):
        deliver(world.source(), envelope, NOW)


def test_an_unknown_subject_is_acknowledged_and_logged_without_the_body(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"data": {"id": 1, "email": "secret.person@example.com"}}
    envelope = world.notifier().notification("GuestTeleported", body, now=NOW)
    with caplog.at_level(logging.INFO, logger="bridge.sources.ivvy"):
        result = deliver(world.source(), envelope, NOW)
    assert result == Acknowledged("unknown subject GuestTeleported")
    records = [r for r in caplog.records if r.name == "bridge.sources.ivvy"]
    assert [getattr(r, "subject", None) for r in records] == ["GuestTeleported"]
    assert "secret.person" not in caplog.text
