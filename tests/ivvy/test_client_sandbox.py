"""The client against the sandbox iVvy over real HTTP: signatures accepted, paging, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError, IvvyTransportError
from bridge.ivvy.sandbox import SandboxServer

KEY, SECRET = "bridge-test-key", "bridge-test-secret"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(credentials={KEY: SECRET}) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[IvvyClient]:
    with IvvyClient(KEY, SECRET, base_url=sandbox.url, timeout=(2.0, 5.0)) as ivvy:
        yield ivvy


def inspect(sandbox: SandboxServer, what: str) -> list[dict]:
    response = requests.get(f"{sandbox.url}/_sandbox/{what}", timeout=5)
    response.raise_for_status()
    return response.json()


def set_faults(sandbox: SandboxServer, **settings: object) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json=settings, timeout=5).raise_for_status()


def test_ping_is_accepted(client):
    assert "ack" in client.ping()


def test_create_a_task_and_find_it_in_the_list(client, sandbox):
    task_id = client.add_or_update_task(
        {
            "name": "Call Jane back about the gala",
            "endDatetime": "2024-06-03 09:00:00",
            "contactId": 1,
            "assignedUserId": 2,
            "priority": "high",
            "status": 0,
        }
    )
    listed = {task["id"]: task for task in client.get_task_list()}
    assert listed[task_id]["name"] == "Call Jane back about the gala"
    assert listed[task_id]["contactId"] == 1
    assert [t["id"] for t in inspect(sandbox, "tasks")] == [*listed]


def test_task_rules_come_back_as_permanent_errors(client):
    two_owners = {"name": "x", "endDatetime": "2024-06-03 09:00:00", "leadId": 1, "contactId": 1}
    with pytest.raises(IvvyError) as caught:
        client.add_or_update_task(two_owners)
    assert caught.value.specific_code == 24396
    assert caught.value.retryable is False


def test_paging_through_a_long_list(client, sandbox):
    contacts = [
        {"id": n, "firstName": "Guest", "lastName": str(n), "email": f"guest{n}@example.com"}
        for n in range(1, 251)
    ]
    seeded = requests.post(f"{sandbox.url}/_sandbox/seed", json={"contacts": contacts}, timeout=5)
    seeded.raise_for_status()
    found = client.get_contact_list()
    assert [c["id"] for c in found] == list(range(1, 251))
    list_calls = [c for c in inspect(sandbox, "calls") if c["action"] == "getContactList"]
    assert len(list_calls) == 3  # 100 + 100 + 50


def test_find_a_contact_by_email_whatever_its_case(client):
    found = client.find_contacts_by_email("JANE.DOE@example.com")
    assert [c["id"] for c in found] == [1]
    assert client.find_contacts_by_email("nobody@example.com") == []


def test_wrong_secret_is_refused_and_not_retryable(sandbox):
    with (
        IvvyClient(KEY, "not-the-secret", base_url=sandbox.url) as client,
        pytest.raises(IvvyError) as caught,
    ):
        client.ping()
    assert caught.value.http_status == 401
    assert caught.value.retryable is False


def test_a_slow_clock_on_the_first_call_is_resigned(sandbox):
    def clock() -> datetime:
        # Ten minutes slow until the sandbox has logged the first attempt.
        skew = timedelta(minutes=-10) if not sandbox.state.calls() else timedelta(0)
        return datetime.now(UTC) + skew

    with IvvyClient(KEY, SECRET, base_url=sandbox.url, clock=clock) as client:
        assert "ack" in client.ping()
    logged = inspect(sandbox, "calls")
    assert [(c["status"], c["specificCode"]) for c in logged] == [(401, 23005), (200, None)]


def test_rate_limit_fault_carries_retry_after(client, sandbox):
    set_faults(sandbox, fail_next=1, status=429, retry_after=12)
    with pytest.raises(IvvyError) as caught:
        client.get_task_list()
    assert (caught.value.http_status, caught.value.retryable) == (429, True)
    assert caught.value.retry_after == 12.0


def test_an_answer_dropped_after_a_write_is_flagged_maybe_committed(client, sandbox):
    set_faults(sandbox, drop_next=1)
    with pytest.raises(IvvyTransportError) as caught:
        client.add_or_update_task(
            {"name": "Lost answer", "endDatetime": "2024-06-03 09:00:00", "contactId": 1}
        )
    assert (caught.value.retryable, caught.value.maybe_committed) == (True, True)
    assert any(t["name"] == "Lost answer" for t in inspect(sandbox, "tasks"))


def test_text_that_is_not_valid_unicode_is_refused_before_sending(client, sandbox):
    """Only an event stored before the door replaced lone surrogates could hold one."""
    calls_before = len(inspect(sandbox, "calls"))
    with pytest.raises(IvvyError) as refused:
        client.call("task", "addOrUpdateTask", {"name": "half an emoji \ud83d"})
    assert refused.value.retryable is False
    assert "not valid Unicode" in str(refused.value)
    assert len(inspect(sandbox, "calls")) == calls_before
