"""Token guessing is throttled per client; admin answers are never cached or sniffed."""

from __future__ import annotations

import base64
import json
import re

import pytest
from flask import Flask

from bridge.web.throttle import BURST, REFILL_SECONDS, FailureThrottle
from tests.api.conftest import ADMIN


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.extensions["bridge_admin_guesses"] = FailureThrottle(clock=clock)
    return clock


def bearer(token: str, client: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if client:
        headers["X-Forwarded-For"] = client  # the test client connects from 127.0.0.1, trusted
    return headers


def test_wrong_admin_tokens_are_throttled_per_client(
    app: Flask, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app.test_client()
    statuses = [
        client.get("/api/events", headers=bearer(f"guess-{n}", "203.0.113.7")).status_code
        for n in range(200)
    ]
    assert statuses[:BURST] == [401] * BURST
    assert set(statuses[BURST:]) == {429}

    throttled = client.get("/api/events", headers=bearer("guess", "203.0.113.7"))
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(throttled.headers["Retry-After"]) <= REFILL_SECONDS
    # While throttled, even the right token says nothing (no oracle for the guesser).
    assert client.get("/api/events", headers=bearer(ADMIN, "203.0.113.7")).status_code == 429
    # Another client is not held back by this one.
    assert client.get("/api/events", headers=bearer(ADMIN, "198.51.100.2")).status_code == 200

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    warnings = [line for line in lines if line["msg"] == "admin token guesses throttled"]
    assert warnings and warnings[0]["client"] == "203.0.113.7"
    assert all("guess-" not in json.dumps(line) for line in lines)

    # After the refill, one more try; the right token works again.
    clock.now += REFILL_SECONDS
    assert client.get("/api/events", headers=bearer(ADMIN, "203.0.113.7")).status_code == 200


def test_a_request_without_a_token_is_not_a_guess(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    for _ in range(BURST * 3):
        assert client.get("/api/events").status_code == 401
    assert client.get("/api/events", headers=bearer(ADMIN)).status_code == 200


def test_the_login_form_and_basic_credentials_count_too(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "token": "wrong"}
    answers = [client.post("/login", data=form).status_code for _ in range(BURST)]
    assert answers == [401] * BURST
    refused = client.post("/login", data={**form, "token": ADMIN})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    basic = "Basic " + base64.b64encode(f"ops:{ADMIN}".encode()).decode()
    assert client.get("/events", headers={"Authorization": basic}).status_code == 429
    assert client.get("/api/events", headers=bearer(ADMIN)).status_code == 429


def test_wrong_basic_credentials_on_the_pages_are_guesses(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    basic = "Basic " + base64.b64encode(b"ops:wrong").decode()
    answers = [
        client.get("/events", headers={"Authorization": basic}).status_code
        for _ in range(BURST + 1)
    ]
    assert answers == [401] * BURST + [429]


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/api/events", ADMIN, 200),
        ("/api/config", ADMIN, 200),
        ("/api/events/ev_missing", ADMIN, 404),
        ("/api/events", "wrong", 401),
        ("/api/events", None, 401),
    ],
)
def test_admin_answers_are_never_cached_or_sniffed(
    app: Flask, path: str, token: str | None, status: int
) -> None:
    headers = bearer(token) if token else {}
    answer = app.test_client().get(path, headers=headers)
    assert answer.status_code == status
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_status_pages_are_never_cached_or_sniffed(app: Flask) -> None:
    answer = app.test_client().get("/login")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
