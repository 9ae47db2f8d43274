"""The project's own iVvy client against the sandbox: the two agree on signing and shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError, IvvyTransportError
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer


@pytest.fixture
def client(sandbox_server: SandboxServer, inspector) -> Iterator[IvvyClient]:
    with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox_server.url) as client:
        yield client


def test_ping_and_task_round_trip(client: IvvyClient, inspector) -> None:
    assert client.ping()["ack"].endswith(" UTC")
    (jane,) = client.find_contacts_by_email("JANE.DOE@example.com")
    task_id = client.add_or_update_task(
        {"name": "Follow up", "endDatetime": "2024-05-07 09:00:00", "contactId": jane["id"]}
    )
    assert [t["id"] for t in client.get_task_list()] == [task_id]
    assert inspector.get("tasks")[0]["name"] == "Follow up"


def test_collections_page_through_everything(client: IvvyClient) -> None:
    users = list(client.iter_collection("account", "getUserList", per_page=3))
    assert [u["id"] for u in users] == [1, 2, 3, 4]


def test_validation_errors_are_permanent(client: IvvyClient) -> None:
    with pytest.raises(IvvyError) as caught:
        client.add_or_update_task({"name": "No due date", "contactId": 1})
    assert (caught.value.specific_code, caught.value.retryable) == (23017, False)


def test_injected_503_is_retryable_with_retry_after(client: IvvyClient, inspector) -> None:
    inspector.post("faults", {"fail_next": 1, "status": 503, "retry_after": 2})
    with pytest.raises(IvvyError) as caught:
        client.ping()
    assert (caught.value.http_status, caught.value.retryable) == (503, True)
    assert caught.value.retry_after == 2.0


def test_dropped_answer_is_a_maybe_committed_transport_error(client, inspector) -> None:
    inspector.post("faults", {"drop_next": 1})
    with pytest.raises(IvvyTransportError) as caught:
        client.add_or_update_task(
            {"name": "Lost", "endDatetime": "2024-05-07 09:00:00", "contactId": 1}
        )
    assert caught.value.maybe_committed is True
    assert [t["name"] for t in inspector.get("tasks")] == ["Lost"]


def test_a_client_clock_ten_minutes_off_is_refused_as_stale(sandbox_server, inspector) -> None:
    def late() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=10)

    client = IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox_server.url, clock=late)
    with client, pytest.raises(IvvyError) as caught:
        client.ping()
    assert caught.value.specific_code == 23005
    assert [c["status"] for c in inspector.get("calls")] == [401, 401]  # re-signed once
