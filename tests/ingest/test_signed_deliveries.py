"""Signatures checked through the web layer: 202 when signed, one identical 401 otherwise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from standardwebhooks.webhooks import Webhook

from tests.ingest.running_bridge import STANDARD_SECRET, TYPEFORM_SECRET, RunningBridge

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def typeform_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def typeform_body(event_id: str) -> bytes:
    sample = json.loads((SAMPLES / "typeform.json").read_text())
    return json.dumps({**sample, "event_id": event_id}).encode()


def post(
    bridge: RunningBridge, source: str, body: bytes, headers: dict[str, str]
) -> requests.Response:
    return requests.post(
        bridge.hook(source),
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )


def assert_same_refusals(responses: list[requests.Response]) -> None:
    """Every refusal is the same 401 body but for its request id: no hint of what was wrong."""
    bodies = []
    for response in responses:
        assert response.status_code == 401, response.text
        error = response.json()["error"]
        assert error.pop("request_id") == response.headers["X-Request-Id"]
        bodies.append(error)
    assert bodies == [{"code": "unauthorized", "message": bodies[0]["message"]}] * len(bodies)
    for word in ("signature", "secret", "timestamp", "header", "mismatch", "missing"):
        assert word not in bodies[0]["message"].lower()


def test_typeform_signed_delivery_is_accepted(shared_bridge: RunningBridge) -> None:
    body = typeform_body("signed-" + uuid.uuid4().hex)
    response = post(
        shared_bridge,
        "typeform-form",
        body,
        {"Typeform-Signature": typeform_signature(TYPEFORM_SECRET, body)},
    )
    assert response.status_code == 202, response.text
    stored = shared_bridge.event(response.json()["event"])
    assert stored["source_type"] == "typeform"
    assert "typeform-signature" not in stored["headers"]


def test_typeform_refusals_say_nothing_about_why(shared_bridge: RunningBridge) -> None:
    body = typeform_body("refused-" + uuid.uuid4().hex)
    good = typeform_signature(TYPEFORM_SECRET, body)
    with shared_bridge.stores_nothing():
        responses = [
            post(shared_bridge, "typeform-form", body, {}),
            post(
                shared_bridge,
                "typeform-form",
                body,
                {"Typeform-Signature": typeform_signature("another-secret", body)},
            ),
            post(shared_bridge, "typeform-form", body + b" ", {"Typeform-Signature": good}),
            post(
                shared_bridge,
                "typeform-form",
                body,
                {"Typeform-Signature": good.replace("sha256=", "sha1=")},
            ),
        ]
    assert_same_refusals(responses)


def standard_headers(secret: str, msg_id: str, body: bytes, sent: datetime) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body.decode()),
    }


def test_standard_webhooks_signed_delivery_is_accepted(shared_bridge: RunningBridge) -> None:
    msg_id = "msg_" + uuid.uuid4().hex
    body = json.dumps({"type": "booking.created", "data": {"email": "li@example.org"}}).encode()
    headers = standard_headers(STANDARD_SECRET, msg_id, body, datetime.now(UTC))
    response = post(shared_bridge, "svix-app", body, headers)
    assert response.status_code == 202, response.text
    stored = shared_bridge.event(response.json()["event"])
    # The door keys the event by the sender's webhook-id; the worker parses the rest.
    assert (stored["dedupe_key"], stored["body"]) == (f"id:{msg_id}", body)

    # The sender's retry (same webhook-id, signed afresh) is the same event.
    later = datetime.now(UTC) + timedelta(seconds=5)
    retry = post(
        shared_bridge, "svix-app", body, standard_headers(STANDARD_SECRET, msg_id, body, later)
    )
    assert retry.json() == {"event": stored["id"], "duplicate": True}


def test_standard_webhooks_refusals_say_nothing_about_why(shared_bridge: RunningBridge) -> None:
    msg_id = "msg_" + uuid.uuid4().hex
    body = json.dumps({"type": "booking.created", "data": {}}).encode()
    now = datetime.now(UTC)
    good = standard_headers(STANDARD_SECRET, msg_id, body, now)
    other_secret = "whsec_" + base64.b64encode(b"another secret of 24 byte").decode()
    with shared_bridge.stores_nothing():
        responses = [
            post(
                shared_bridge,
                "svix-app",
                body,
                {k: v for k, v in good.items() if k != "webhook-signature"},
            ),
            post(
                shared_bridge, "svix-app", body, standard_headers(other_secret, msg_id, body, now)
            ),
            post(shared_bridge, "svix-app", body.replace(b"{}", b'{"x": 1}'), good),
            post(
                shared_bridge,
                "svix-app",
                body,
                standard_headers(STANDARD_SECRET, msg_id, body, now - timedelta(hours=1)),
            ),
        ]
    assert_same_refusals(responses)
