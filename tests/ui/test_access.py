"""Who gets in to the status pages, and how: token, cookie, Basic, CSRF, redirects, errors."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from bridge import create_app
from bridge.events import Event
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sources.base import Accepted
from bridge.store.inbox import accept
from bridge.store.tables import attempts, jobs
from tests.support.configs import TOKEN, write_config

ADMIN = "access-admin-token"
IVVY_SECRET = "sandbox-secret-for-access-tests"


def make_app(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, **kw: object
) -> Flask:
    """The real app factory; nothing here calls iVvy, so its address need not answer."""
    monkeypatch.setenv("IVVY_API_KEY", "sandbox-key-for-access")
    monkeypatch.setenv("IVVY_API_SECRET", IVVY_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    config = write_config(tmp_path, ivvy_url="http://127.0.0.1:9")
    settings = Settings(
        database_url=database_url,
        config_path=str(config),
        admin_token=kw.get("token", ADMIN),  # type: ignore[arg-type]
    )
    return create_app(runtime=Runtime.from_env(settings))


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    return make_app(tmp_path, sqlite_url, monkeypatch)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def signed_in(client: FlaskClient) -> FlaskClient:
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf_token": token, "token": ADMIN})
    assert answer.status_code == 302
    return client


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()}


def test_without_an_admin_token_every_page_refuses(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(tmp_path, sqlite_url, monkeypatch, token=None).test_client()
    for path in ("/", "/login", "/events", "/preview"):
        answer = client.get(path, headers=basic("anything"))
        assert answer.status_code == 503
        assert "BRIDGE_ADMIN_TOKEN" in answer.text
    assert client.post("/login", data={"token": ""}).status_code == 503
    api = client.get("/api/events")
    assert api.status_code == 503 and api.json is not None and api.json["error"]["code"]


def test_pages_redirect_to_login_and_keep_where_they_were_going(app: Flask) -> None:
    client = app.test_client()
    answer = client.get("/events?state=failed")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/events?state%3Dfailed"
    token = csrf_of(client.get(answer.headers["Location"]).text)
    done = client.post(
        "/login", data={"csrf_token": token, "token": ADMIN, "next": "/events?state=failed"}
    )
    assert done.headers["Location"] == "/events?state=failed"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil", "x"])
def test_login_never_redirects_off_site(app: Flask, target: str) -> None:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf_token": token, "token": ADMIN, "next": target})
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    ["/events\r\nSet-Cookie: x=1", "/events\nx", "/ev\x00ents", "/ev\tents", "/ev\x7fents"],
)
def test_control_characters_in_next_are_dropped_never_a_500(app: Flask, target: str) -> None:
    client = app.test_client()
    assert client.get("/login", query_string={"next": target}).status_code == 200
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf_token": token, "token": ADMIN, "next": target})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    # Signed in, the GET redirects at once: to the overview, not to the bad target.
    again = client.get("/login", query_string={"next": target})
    assert (again.status_code, again.headers["Location"]) == (302, "/")


def test_login_needs_its_csrf_token_and_the_right_admin_token(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/login", data={"token": ADMIN}).status_code == 403
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf_token": token, "token": ADMIN + "x"})
    assert wrong.status_code == 401
    assert client.get("/events").status_code == 302
    assert client.post("/login", data={"csrf_token": token, "token": ADMIN}).status_code == 302
    assert client.get("/events").status_code == 200
    # Logging in gives a fresh CSRF token: one seen before login is worth nothing after.
    assert csrf_of(client.get("/events").text) != token


def test_basic_credentials_with_the_token_as_password(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/events", headers=basic(ADMIN)).status_code == 200
    refused = client.get("/events", headers=basic("guess"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="bridge"'


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost", False),
        ("https://bridge.example", True),
        ("http://bridge.example", True),  # plain http elsewhere: a TLS proxy in front, presumably
        ("https://localhost", True),
    ],
)
def test_the_session_cookie_is_secure_except_plain_http_on_localhost(
    app: Flask, base_url: str, secure: bool
) -> None:
    answer = app.test_client().get("/login", base_url=base_url)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("bridge_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_a_session_from_one_process_is_good_in_another(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    first = signed_in(app.test_client())
    cookie = first.get_cookie("bridge_session")
    assert cookie is not None
    other = make_app(tmp_path, sqlite_url, monkeypatch).test_client()
    other.set_cookie("bridge_session", cookie.value)
    assert other.get("/events").status_code == 200


def test_logout_needs_the_csrf_token_and_ends_the_session(app: Flask) -> None:
    client = signed_in(app.test_client())
    assert client.post("/logout").status_code == 403
    assert client.get("/events").status_code == 200
    token = csrf_of(client.get("/events").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/events").status_code == 302


def test_errors_are_pages_here_and_json_under_api_and_hooks(app: Flask) -> None:
    client = signed_in(app.test_client())
    missing = client.get("/events/ev_nothing")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "no event with that id" in missing.text.lower()
    bad_page = client.get("/events?cursor=garbage")
    assert bad_page.status_code == 400 and bad_page.mimetype == "text/html"
    for path in ("/api/nothing-here", "/hooks/nobody"):
        answer = client.post(path, json={})
        assert answer.mimetype == "application/json" and answer.json is not None
        assert "error" in answer.json
    headers = client.get("/").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_attempt_errors_are_redacted_on_the_event_page(app: Flask) -> None:
    engine = app.extensions["bridge"].engine
    at = datetime(2025, 3, 4, 1, 2, 3, tzinfo=UTC)
    event = Event("website", "form", "submission", "enq-1", at, fields={"email": "a@b.example"})
    event_id = accept(
        engine,
        Accepted(event, dedupe_key="enq-1"),
        headers={},
        body=b"{}",
        content_type="application/json",
        now=at,
    ).event_id
    leaked = f"iVvy said no to secret {IVVY_SECRET} for kim@example.net on +61 400 123 456"
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(jobs).values(
                event_id=event_id, state="dead", run_at=at, created_at=at, last_error=leaked
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(attempts).values(
                job_id=job_id,
                event_id=event_id,
                started_at=at,
                call="crm.addOrUpdateTask",
                status=500,
                duration_ms=12,
                error=leaked,
            )
        )
    html = signed_in(app.test_client()).get(f"/events/{event_id}").text
    assert "crm.addOrUpdateTask" in html
    assert "iVvy said no to secret [secret] for [email] on [phone]" in html
    assert IVVY_SECRET not in html and "kim@example.net" not in html and "400 123" not in html
