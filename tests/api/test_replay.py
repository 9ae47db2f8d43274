"""Replay through the API with a real worker: done stays done, failed goes again, no duplicate."""

from __future__ import annotations

from pathlib import Path

import requests

from bridge.ivvy.sandbox import SandboxServer
from tests.support.configs import TOKEN, WEBSITE_RULE, write_config
from tests.support.processes import BridgeProcess, start_web, wait_for

# A second rule whose owner must already exist in iVvy: it fails until the contact is there.
PARTNER_RULE = """
  - name: tell-the-partner
    on: {source: website}
    contact:
      email: "partner@venue.example"
      create: false
    task:
      name: "Tell the partner about {{ first_name }}"
      due: "+2 business days at 09:00"
      assignee: events@venue.example
"""

ENQUIRY = {
    "id": "enq-77",
    "first_name": "Priya",
    "last_name": "Raman",
    "email": "priya@example.org",
}


def _event(url: str, headers: dict[str, str], event_id: str) -> dict:  # type: ignore[type-arg]
    response = requests.get(f"{url}/api/events/{event_id}", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    found: dict = response.json()  # type: ignore[type-arg]
    return found


def test_replay_retries_the_failed_rule_and_never_repeats_a_task(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    write_config(tmp_path, ivvy_url=sandbox.url, rules=WEBSITE_RULE + PARTNER_RULE)
    admin = {"Authorization": f"Bearer {bridge_env['BRIDGE_ADMIN_TOKEN']}"}
    web, url = start_web(bridge_env, tmp_path / "web.log", workers=2)
    worker = BridgeProcess(["worker"], bridge_env, tmp_path / "worker.log")
    try:
        posted = requests.post(
            f"{url}/hooks/website", json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=10
        )
        assert posted.status_code == 202, posted.text
        event_id = posted.json()["event"]

        first = wait_for(
            lambda: (e := _event(url, admin, event_id))["state"] == "failed" and e, timeout=30
        )
        by_rule = {d["rule"]: d for d in first["deliveries"]}
        assert by_rule["website-enquiry"]["state"] == "done"
        assert by_rule["tell-the-partner"]["state"] == "failed"
        assert "contact" in by_rule["tell-the-partner"]["error"]
        tasks = requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=5).json()
        assert len(tasks) == 1

        # The cause is fixed in iVvy; a replay runs the failed rule only.
        partner = sandbox.state.records("contacts")[0]
        sandbox.state.insert("contacts", {**partner, "email": "partner@venue.example"})
        replayed = requests.post(
            f"{url}/api/events/{event_id}/replay",
            json={"rules": "original"},
            headers=admin,
            timeout=10,
        )
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["reset_deliveries"] == 1
        assert replayed.json()["kept_deliveries"] == 1

        second = wait_for(
            lambda: (e := _event(url, admin, event_id))["state"] == "done" and e, timeout=30
        )
        assert {d["rule"]: d["state"] for d in second["deliveries"]} == {
            "website-enquiry": "done",
            "tell-the-partner": "done",
        }
        assert len(second["jobs"]) == 2 and second["jobs"][-1]["state"] == "done"
        names = sorted(t["name"] for t in requests.get(f"{sandbox.url}/_sandbox/tasks").json())
        assert names == ["Call Priya about their enquiry", "Tell the partner about Priya"]

        # Replaying a finished event again changes nothing in iVvy.
        again = requests.post(f"{url}/api/events/{event_id}/replay", headers=admin, timeout=10)
        assert again.status_code == 202, again.text
        assert again.json()["reset_deliveries"] == 0
        wait_for(lambda: [j["state"] for j in _event(url, admin, event_id)["jobs"]][-1] == "done")
        assert len(requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=5).json()) == 2
    finally:
        assert worker.stop() == 0, worker.output()
        web.stop()


def test_replay_refusals(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {bridge_env['BRIDGE_ADMIN_TOKEN']}"}
    web, url = start_web(bridge_env, tmp_path / "web.log", workers=1)
    try:
        posted = requests.post(
            f"{url}/hooks/website", json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=10
        )
        event_id = posted.json()["event"]
        # No worker runs: its first job is still waiting, so a replay would only queue a twin.
        waiting = requests.post(f"{url}/api/events/{event_id}/replay", headers=admin, timeout=10)
        assert waiting.status_code == 409
        assert waiting.json()["error"]["code"] == "conflict"
        missing = requests.post(f"{url}/api/events/ev_nope/replay", headers=admin, timeout=10)
        assert missing.status_code == 404
        bad = requests.post(
            f"{url}/api/events/{event_id}/replay",
            json={"rules": "latest"},
            headers=admin,
            timeout=10,
        )
        assert bad.status_code == 400
        assert "rules" in bad.json()["error"]["fields"]
        anonymous = requests.post(f"{url}/api/events/{event_id}/replay", timeout=10)
        assert anonymous.status_code == 401
        detail = requests.get(f"{url}/api/events/{event_id}", headers=admin, timeout=10).json()
        assert len(detail["jobs"]) == 1
    finally:
        web.stop()
