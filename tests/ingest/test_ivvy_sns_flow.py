"""iVvy notifications through SNS, end to end through gunicorn, against a local key server.

The subscription handshake fetches a local SubscribeURL; a signed OpportunityUpdated becomes
an event with its data and previous data; the bridge's own writes are acknowledged and dropped;
a key server that cannot be reached is a 503 so that SNS delivers again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.ivvy.sandbox import SANDBOX_KEY
from bridge.sources.ivvy import ECHO_REASON
from bridge.sources.stored import stored_event
from bridge.store.types import StoredRequest
from tests.ingest.running_bridge import RunningBridge
from tests.sources.ivvy_support.world import OTHER_TOPIC, TOPIC, World
from tests.support.notifier import envelope_bytes
from tests.support.processes import free_port

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
PREVIOUS = {"stageId": 46, "stageName": "Enquiry"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The key server (SNS certificate, iVvy public key, SubscribeURL) on 127.0.0.1."""
    world = World.start()
    yield world
    world.server.stop()


@pytest.fixture(scope="module")
def shared_extra_sources(world: World) -> str:
    """Two ``ivvy`` sources: one trusting the key server, one whose key server is down."""
    pattern = re.escape(world.server.url) + "/"
    return f"""
  ivvy-hooks:
    type: ivvy
    topics: ['{TOPIC}']
    sns_cert_url_pattern: '{pattern}'
    signing_key_base_url: {world.server.url}/ivvy
  ivvy-keys-down:
    type: ivvy
    topics: ['{TOPIC}']
    sns_cert_url_pattern: '{pattern}'
    signing_key_base_url: http://127.0.0.1:{free_port()}/ivvy
    fetch_timeout: 2
"""


def opportunity_body() -> dict[str, Any]:
    """The sample OpportunityUpdated Body, with a stage change in its previousData."""
    sample = json.loads((SAMPLE / "ivvy-OpportunityUpdated.constructed.json").read_text())
    body: dict[str, Any] = json.loads(json.loads(sample["Message"])["Body"])
    return {**body, "previousData": PREVIOUS}


def deliver(bridge: RunningBridge, source: str, envelope: dict[str, Any]) -> requests.Response:
    """POST an envelope the way SNS does (text/plain JSON, its message-type header)."""
    return requests.post(
        bridge.hook(source),
        data=envelope_bytes(envelope),
        headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": envelope["Type"],
            "User-Agent": "Amazon Simple Notification Service Agent",
        },
        timeout=30,
    )


@pytest.fixture
def bridge(shared_bridge: RunningBridge) -> RunningBridge:
    return shared_bridge


def test_the_subscription_is_confirmed_at_the_subscribe_url(
    bridge: RunningBridge, world: World
) -> None:
    notifier = world.notifier()
    confirmation = notifier.subscription_confirmation(world.subscribe_url, now=datetime.now(UTC))
    confirmed_before = len(world.server.confirmations)
    with bridge.stores_nothing():
        response = deliver(bridge, "ivvy-hooks", confirmation)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "acknowledged", "reason": "subscription confirmed"}
    assert world.server.confirmations[confirmed_before:] == [
        "Action=ConfirmSubscription&Token=abc123"
    ]


def test_a_signed_notification_becomes_an_event_once(bridge: RunningBridge, world: World) -> None:
    notification = world.notifier().notification(
        "OpportunityUpdated", opportunity_body(), now=datetime.now(UTC)
    )
    before = bridge.counts()
    response = deliver(bridge, "ivvy-hooks", notification)
    assert response.status_code == 202, response.text
    event_id = response.json()["event"]

    stored = bridge.event(event_id)
    assert (stored["source_type"], stored["kind"]) == ("ivvy", "OpportunityUpdated")
    event = stored["event"]
    assert event["data"]["id"] == 763
    assert event["data"]["stageName"] == "Interested"
    assert event["previous_data"] == PREVIOUS
    assert "raw" not in event  # the body is stored beside it, and raw is rebuilt from it
    request = StoredRequest.of(stored["body"], stored["headers"], stored["content_type"])
    raw = stored_event(event, request).raw
    assert raw["message"]["Subject"] == "OpportunityUpdated"
    assert raw["body"]["data"]["id"] == 763
    assert "Signature" not in json.dumps(raw)
    assert bridge.jobs_of(event_id) == 1

    # SNS delivers at least once: the same MessageId again is the same event.
    again = deliver(bridge, "ivvy-hooks", notification)
    assert again.status_code == 200
    assert again.json() == {"event": event_id, "duplicate": True}
    assert bridge.counts() == {name: count + 1 for name, count in before.items()}


def test_the_bridges_own_changes_are_acknowledged_without_an_event(
    bridge: RunningBridge, world: World
) -> None:
    echo = world.notifier().notification(
        "OpportunityUpdated", opportunity_body(), now=datetime.now(UTC), api_key=SANDBOX_KEY
    )
    with bridge.stores_nothing():
        response = deliver(bridge, "ivvy-hooks", echo)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "acknowledged", "reason": ECHO_REASON}


def test_unverifiable_notifications_are_refused(bridge: RunningBridge, world: World) -> None:
    now = datetime.now(UTC)
    body = opportunity_body()
    other_topic = world.notifier(topic_arn=OTHER_TOPIC).notification(
        "OpportunityUpdated", body, now=now
    )
    tampered = world.notifier().notification("OpportunityUpdated", body, now=now)
    tampered["Message"] = tampered["Message"].replace("Interested", "Won")
    with bridge.stores_nothing():
        for envelope in (other_topic, tampered):
            response = deliver(bridge, "ivvy-hooks", envelope)
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthorized"


def test_an_unreachable_key_server_answers_503(bridge: RunningBridge, world: World) -> None:
    notification = world.notifier().notification(
        "OpportunityUpdated", opportunity_body(), now=datetime.now(UTC)
    )
    with bridge.stores_nothing():
        response = deliver(bridge, "ivvy-keys-down", notification)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert "127.0.0.1" not in error["message"]
