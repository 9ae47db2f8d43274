"""Every refusal in the one JSON envelope, with the status HTTP gives it."""

from __future__ import annotations

import requests

from tests.ingest.running_bridge import RunningBridge
from tests.support.configs import TOKEN


def assert_envelope(response: requests.Response, status: int, code: str) -> dict[str, str]:
    """The response is ``{"error": {"code", "message", "request_id", ...}}`` with that status."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, str] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    return error


def test_wrong_methods_answer_405_with_allow(shared_bridge: RunningBridge) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = requests.request(method, shared_bridge.hook("website"), timeout=10)
        assert_envelope(response, 405, "method_not_allowed")
        assert "POST" in {m.strip() for m in response.headers["Allow"].split(",")}
    response = requests.post(f"{shared_bridge.url}/healthz", timeout=10)
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_unknown_sources_and_paths_answer_404(shared_bridge: RunningBridge) -> None:
    with shared_bridge.stores_nothing():
        unknown = requests.post(
            shared_bridge.hook("no-such-source"),
            json={"id": 1},
            headers={"X-Bridge-Token": TOKEN},
            timeout=10,
        )
    assert_envelope(unknown, 404, "not_found")
    assert_envelope(requests.get(f"{shared_bridge.url}/no/such/page", timeout=10), 404, "not_found")


def test_an_unsupported_content_type_answers_415(shared_bridge: RunningBridge) -> None:
    with shared_bridge.stores_nothing():
        response = requests.post(
            shared_bridge.hook("website"),
            data=b"first_name=Ana",
            headers={"Content-Type": "text/plain", "X-Bridge-Token": TOKEN},
            timeout=10,
        )
    error = assert_envelope(response, 415, "unsupported_media_type")
    assert "application/json" in error["accepted"]


def test_a_request_id_given_by_the_caller_is_echoed(shared_bridge: RunningBridge) -> None:
    response = requests.get(
        shared_bridge.hook("website"), headers={"X-Request-Id": "trace-abc-123"}, timeout=10
    )
    assert assert_envelope(response, 405, "method_not_allowed")["request_id"] == "trace-abc-123"


def test_an_authentic_unparseable_delivery_is_kept_as_invalid_without_a_job(
    shared_bridge: RunningBridge,
) -> None:
    for body, reason in (
        (b'{"id": "cut', "the body is not valid JSON"),
        (b'["a", "list"]', "the body must be a JSON object"),
    ):
        response = requests.post(
            shared_bridge.hook("website"),
            data=body,
            headers={"Content-Type": "application/json", "X-Bridge-Token": TOKEN},
            timeout=10,
        )
        error = assert_envelope(response, 400, "bad_request")
        assert error["message"] == reason
        stored = shared_bridge.event(error["event"])
        assert (stored["kind"], stored["state"], stored["last_error"]) == (
            "invalid",
            "invalid",
            reason,
        )
        assert bytes(stored["body"]) == body
        assert stored["event"] is None
        assert "x-bridge-token" not in stored["headers"]
        assert shared_bridge.jobs_of(error["event"]) == 0
        # The sender retrying the same broken body finds the row it already made.
        retried = requests.post(
            shared_bridge.hook("website"),
            data=body,
            headers={"Content-Type": "application/json", "X-Bridge-Token": TOKEN},
            timeout=10,
        )
        assert assert_envelope(retried, 400, "bad_request")["event"] == error["event"]


def test_an_unauthentic_unparseable_delivery_is_refused_and_not_kept(
    shared_bridge: RunningBridge,
) -> None:
    with shared_bridge.stores_nothing():
        response = requests.post(
            shared_bridge.hook("website"),
            data=b'{"id": "cut',
            headers={"Content-Type": "application/json", "X-Bridge-Token": "wrong"},
            timeout=10,
        )
    assert_envelope(response, 401, "unauthorized")
