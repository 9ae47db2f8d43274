"""The shipped lifecycle examples, end to end: examples/bridge.yaml's rules on the sample payloads
in examples/payloads/, through a real database (SQLite and PostgreSQL), a worker and the sandbox
iVvy over HTTP.  A booking cancelled or deleted cancels "confirm final numbers"; an opportunity
lost cancels its tasks; won completes "send a proposal" and creates "send the contract"; the
same form again within 7 days updates the open call-back task."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.config import load_config
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.ivvy.sandbox.state import packaged_seed
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sources.base import Accepted, InboundRequest
from bridge.store.inbox import accept
from bridge.worker import Worker
from tests.delivery.harness import ManualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
START = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)  # when the sample notifications were sent


class Examples:
    """examples/bridge.yaml pointed at the sandbox, and a worker stepped by the test."""

    def __init__(self, tmp_path: Path, sandbox: SandboxServer, database_url: str) -> None:
        text = (EXAMPLES / "bridge.yaml").read_text()
        text = re.sub(r"\n  region: AU[^\n]*", f"\n  base_url: {sandbox.url}", text, count=1)
        path = tmp_path / "bridge.yaml"
        path.write_text(text)
        names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
        env = {name: f"value-of-{name.lower()}" for name in names}
        env.update(IVVY_API_KEY=SANDBOX_KEY, IVVY_API_SECRET=SANDBOX_SECRET)
        self.clock = ManualClock(START)
        self.runtime = Runtime(
            settings=Settings(database_url=database_url, config_path=str(path)),
            config=load_config(str(path), env=env),
            clock=self.clock,
        )
        self.sandbox = sandbox
        seed = packaged_seed()  # plus the records the sample payloads name
        seed["contacts"].append({"id": 580, "firstName": "Grace", "lastName": "Hopper",
                                 "email": "grace.hopper@example.com"})  # fmt: skip
        seed["companies"].append({"id": 214, "businessName": "Acme Events Pty Ltd"})
        seed["opportunities"].append({"id": 763, "venueId": 1, "name": "Acme annual conference"})
        requests.post(f"{sandbox.url}/_sandbox/seed", json=seed, timeout=5).raise_for_status()

    def post(self, source: str, payload: str, *, later: float = 3600) -> str:
        """The payload accepted as the source parses it, ``later`` seconds on; its event id."""
        self.clock.advance(later)
        body = (EXAMPLES / "payloads" / payload).read_bytes()
        request = InboundRequest(body=body, headers={}, content_type="application/json")
        result = self.runtime.config.sources[source].parse(request, self.clock())
        assert isinstance(result, Accepted), result
        accepted = accept(
            self.runtime.engine, result.event, result.dedupe_key, headers={}, body=body,
            content_type="application/json", now=self.clock(),
        )  # fmt: skip
        Worker(self.runtime).run_pending()
        return accepted.event_id

    def tasks(self) -> dict[str, dict[str, Any]]:
        found = requests.get(f"{self.sandbox.url}/_sandbox/tasks", timeout=5).json()
        return {task["name"]: task for task in found}

    def state(self, event_id: str) -> tuple[str, list[str]]:
        with self.runtime.engine.connect() as conn:
            from sqlalchemy import text

            event = conn.execute(
                text("SELECT state FROM events WHERE id = :e"), {"e": event_id}
            ).scalar_one()
            rules = conn.execute(
                text("SELECT rule, state FROM deliveries WHERE event_id = :e ORDER BY rule"),
                {"e": event_id},
            ).all()
        return event, [f"{rule} {state}" for rule, state in rules]


@pytest.fixture
def examples(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> Examples:
    return Examples(tmp_path, sandbox, database_url)


FINAL_NUMBERS = "Confirm final numbers for Acme annual conference 2026"
PROPOSAL = "Send a proposal for Acme annual conference 2026"
CONTRACT = "Send the contract for Acme annual conference 2026"


@pytest.mark.parametrize("cancelling", ["ivvy-booking-cancelled.json", "ivvy-booking-deleted.json"])
def test_a_booking_cancelled_or_deleted_cancels_confirm_final_numbers(
    examples: Examples, cancelling: str
) -> None:
    examples.post("ivvy", "ivvy-booking-confirmed.json")
    assert examples.tasks()[FINAL_NUMBERS]["status"] == 0
    event = examples.post("ivvy", cancelling)
    assert examples.state(event) == ("done", ["booking-cancelled acted"])
    task = examples.tasks()[FINAL_NUMBERS]
    assert task["status"] == 3
    assert "Cancelled by the bridge: the booking was cancelled." in task["description"]


def test_an_opportunity_won_completes_the_proposal_and_creates_the_contract(
    examples: Examples,
) -> None:
    examples.post("ivvy", "ivvy-opportunity-added.json")
    assert examples.tasks()[PROPOSAL]["status"] == 0
    won = examples.post("ivvy", "ivvy-opportunity-won.json")
    assert examples.state(won) == (
        "done", ["opportunity-won done", "proposal-done-when-won acted"],
    )  # fmt: skip
    tasks = examples.tasks()
    assert tasks[PROPOSAL]["status"] == 4
    assert tasks[CONTRACT]["status"] == 0 and tasks[CONTRACT]["leadId"] == 763


def test_an_opportunity_lost_cancels_its_tasks(examples: Examples) -> None:
    examples.post("ivvy", "ivvy-opportunity-added.json")
    examples.post("ivvy", "ivvy-opportunity-won.json")  # proposal completed, contract open
    lost = examples.post("ivvy", "ivvy-opportunity-lost.json")
    assert examples.state(lost) == ("done", ["opportunity-lost acted"])
    tasks = examples.tasks()
    assert tasks[CONTRACT]["status"] == 3
    assert tasks[PROPOSAL]["status"] == 4  # already completed: left as it was


def test_the_same_form_again_within_seven_days_updates_the_call_back_task(
    examples: Examples,
) -> None:
    first = examples.post("website", "website-enquiry.json")
    (name,) = examples.tasks()
    again = examples.post("website", "website-enquiry-again.json", later=2 * 86_400)
    assert examples.state(again) == ("done", ["website-enquiry acted"])
    (task,) = examples.tasks().values()
    assert task["name"] == name
    assert (
        task["description"]
        .splitlines()[-1]
        .startswith("Sent the form again: Update: we are now 150 guests")
    )
    assert examples.state(first) == ("done", ["website-enquiry done"])
