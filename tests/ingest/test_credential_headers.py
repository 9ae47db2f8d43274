"""A source's signature or token header is never stored with the event, whatever its name."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
import requests

from bridge.sources.registry import SOURCE_TYPES
from tests.ingest.running_bridge import RunningBridge
from tests.support.configs import TOKEN

HMAC_SECRET = "hmac-secret-for-credential-headers"


@pytest.fixture(scope="module")
def shared_extra_sources() -> str:
    """A generic ``hmac`` source whose header's name says nothing about signatures."""
    return f"""
  plain-hmac:
    type: hmac
    header: X-Sig
    secret: {HMAC_SECRET}
    id_header: X-Delivery
"""


def test_a_generic_hmac_signature_header_is_not_stored(shared_bridge: RunningBridge) -> None:
    body = json.dumps({"email": "sig@example.org", "n": uuid.uuid4().hex}).encode()
    signature = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    delivery = "d-" + uuid.uuid4().hex
    response = requests.post(
        shared_bridge.hook("plain-hmac"),
        data=body,
        headers={"Content-Type": "application/json", "X-Sig": signature, "X-Delivery": delivery},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    stored = shared_bridge.event(response.json()["event"])
    assert "x-sig" not in stored["headers"]
    assert signature not in json.dumps(stored["headers"])
    # Headers that are not credentials are still kept.
    assert stored["headers"]["x-delivery"] == delivery


def test_an_invalid_delivery_does_not_keep_the_header_either(
    shared_bridge: RunningBridge,
) -> None:
    body = b"[1, 2, 3]"  # authentic but not an object: kept as ``invalid``
    signature = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = requests.post(
        shared_bridge.hook("plain-hmac"),
        data=body,
        headers={"Content-Type": "application/json", "X-Sig": signature, "X-Delivery": "x"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    stored = shared_bridge.event(response.json()["error"]["event"])
    assert "x-sig" not in stored["headers"]


def test_the_form_token_in_any_accepted_header_is_not_stored(
    shared_bridge: RunningBridge,
) -> None:
    body = json.dumps({"email": "tok@example.org", "n": uuid.uuid4().hex}).encode()
    response = requests.post(
        shared_bridge.hook("website"),
        data=body,
        auth=("anyone", TOKEN),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    stored = shared_bridge.event(response.json()["event"])
    assert "authorization" not in stored["headers"]


@pytest.mark.parametrize("type_name", sorted(SOURCE_TYPES))
def test_every_type_names_the_headers_it_checks(type_name: str) -> None:
    """Each type that reads a credential from a header lists it as never stored."""
    if type_name == "ivvy":  # SNS signs inside the body: no header to drop
        return
    source = SOURCE_TYPES[type_name]("s", {"header": "X-Sig"})
    expected = {"x-sig"} if type_name == "hmac" else set()
    assert source.unstored_headers() >= expected
    assert source.unstored_headers(), type_name
