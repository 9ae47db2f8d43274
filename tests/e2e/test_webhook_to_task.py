"""The whole path with real parts: gunicorn, a worker process, the sandbox iVvy, a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from bridge.ivvy.sandbox import SandboxServer
from tests.support.configs import TOKEN
from tests.support.processes import BridgeProcess, start_web, wait_for

ENQUIRY = {
    "id": "enquiry-1001",
    "first_name": "Priya",
    "last_name": "Raman",
    "email": "priya.raman@example.org",
    "phone": "+61 400 111 222",
    "message": "Wedding for 120 guests in March",
    "event_type": "wedding",
}


def test_a_webhook_becomes_one_task_in_ivvy(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    web, url = start_web(bridge_env, tmp_path / "web.log")
    worker = BridgeProcess(["worker"], bridge_env, tmp_path / "worker.log")
    try:
        sent_at = datetime.now(UTC)
        response = requests.post(
            f"{url}/hooks/website", json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=10
        )
        assert response.status_code == 202, response.text
        event_id = response.json()["event"]

        tasks = wait_for(lambda: requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=5).json())
        assert len(tasks) == 1
        task = tasks[0]
        assert task["name"] == "Call Priya about their wedding"
        assert task["priority"] == "high"
        assert task["assignedUserId"] == 2  # events@venue.example in the seed
        assert event_id in task["description"]

        # The owner: a contact created from the event, found by its email.
        contacts = requests.get(f"{sandbox.url}/_sandbox/contacts", timeout=5).json()
        created = [c for c in contacts if c["email"] == ENQUIRY["email"]]
        assert len(created) == 1
        assert task["contactId"] == created[0]["id"]

        # Due: the next business day after arrival, at 09:00 in Sydney, sent as UTC.
        due = datetime.strptime(task["endDatetime"][:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        local = due.astimezone(ZoneInfo("Australia/Sydney"))
        assert (local.hour, local.minute) == (9, 0)
        assert local.weekday() < 5
        arrived = sent_at.astimezone(ZoneInfo("Australia/Sydney")).date()
        assert arrived < local.date() <= arrived + timedelta(days=5)

        # A second delivery of the same enquiry is a duplicate: same event, no new task.
        again = requests.post(
            f"{url}/hooks/website", json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=10
        )
        assert again.status_code == 200
        assert again.json() == {"event": event_id, "duplicate": True}
    finally:
        assert worker.stop() == 0, worker.output()
        web.stop()
    assert len(requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=5).json()) == 1


def test_a_wrong_token_is_refused_and_stores_nothing(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    web, url = start_web(bridge_env, tmp_path / "web.log", workers=1)
    try:
        response = requests.post(
            f"{url}/hooks/website", json=ENQUIRY, headers={"X-Bridge-Token": "nope"}, timeout=10
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert "token" not in response.json()["error"]["message"]
    finally:
        web.stop()
