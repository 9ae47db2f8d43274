"""Body and header limits through gunicorn: 413 by length or by chunks, never a truncated body."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.ingest.running_bridge import RunningBridge
from tests.support.configs import TOKEN

LIMIT = 4096


def enquiry_of_size(size: int, enquiry_id: str) -> bytes:
    """A valid form delivery of exactly ``size`` bytes (the message pads it)."""
    empty = {"id": enquiry_id, "email": "sam@example.org", "message": ""}
    padding = size - len(json.dumps(empty).encode())
    body = json.dumps({**empty, "message": "x" * padding}).encode()
    assert len(body) == size
    return body


def post_chunked(bridge: RunningBridge, body: bytes, chunk: int = 1000) -> tuple[int, bytes]:
    """POST ``body`` with ``Transfer-Encoding: chunked`` (no Content-Length)."""

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    parts = urlsplit(bridge.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/hooks/website",
            body=chunks(),
            headers={"Content-Type": "application/json", "X-Bridge-Token": TOKEN},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post_sized(bridge: RunningBridge, body: bytes) -> requests.Response:
    return requests.post(
        bridge.hook("website"),
        data=body,
        headers={"Content-Type": "application/json", "X-Bridge-Token": TOKEN},
        timeout=30,
    )


@pytest.fixture(scope="module")
def shared_bridge_env() -> dict[str, str]:
    return {"BRIDGE_MAX_BODY_BYTES": str(LIMIT)}


@pytest.fixture
def bridge(shared_bridge: RunningBridge) -> RunningBridge:
    return shared_bridge


def assert_too_large(status: int, body: bytes) -> None:
    assert status == 413, body
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert set(error) >= {"code", "message", "request_id"}


def test_a_body_over_the_limit_is_refused_by_its_length(bridge: RunningBridge) -> None:
    with bridge.stores_nothing():
        over = post_sized(bridge, enquiry_of_size(LIMIT + 1, "by-length"))
    assert_too_large(over.status_code, over.content)

    at_limit = post_sized(bridge, enquiry_of_size(LIMIT, "at-the-limit"))
    assert at_limit.status_code == 202, at_limit.text


def test_a_chunked_body_over_the_limit_is_refused_not_truncated(bridge: RunningBridge) -> None:
    # Not even kept as an invalid delivery: nothing of a refused body is stored.
    with bridge.stores_nothing():
        for size in (LIMIT + 1, LIMIT * 3):
            status, body = post_chunked(bridge, enquiry_of_size(size, f"chunked-{size}"))
            assert_too_large(status, body)


def test_a_chunked_body_within_the_limit_is_stored_whole(bridge: RunningBridge) -> None:
    sent = enquiry_of_size(LIMIT, "chunked-whole")
    status, body = post_chunked(bridge, sent, chunk=333)
    assert status == 202, body
    stored = bridge.event(json.loads(body)["event"])
    assert bytes(stored["body"]) == sent


def test_a_body_cut_short_of_its_content_length_is_not_accepted(bridge: RunningBridge) -> None:
    body = enquiry_of_size(2000, "cut-short")
    parts = urlsplit(bridge.url)
    with (
        bridge.stores_nothing(),
        socket.create_connection((parts.hostname, parts.port), timeout=30) as sock,
    ):
        sock.sendall(
            b"POST /hooks/website HTTP/1.1\r\nHost: bridge\r\n"
            b"Content-Type: application/json\r\nX-Bridge-Token: " + TOKEN.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:1000]
        )
        sock.shutdown(socket.SHUT_WR)  # the client hangs up half-way through
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b'"code":"bad_request"' in answer


def test_headers_too_large_are_refused_by_gunicorn(bridge: RunningBridge) -> None:
    with bridge.stores_nothing():
        response = requests.post(
            bridge.hook("website"),
            json={"id": "big-header"},
            headers={"X-Bridge-Token": TOKEN, "X-Padding": "p" * 20_000},
            timeout=30,
        )
    assert not response.ok
    assert response.status_code in (400, 431)
