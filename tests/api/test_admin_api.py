"""The admin API in process on real databases: auth, filters, detail, dead jobs, preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from bridge.ivvy.sandbox import SANDBOX_SECRET, SandboxServer
from bridge.store.tables import events, jobs
from tests.api.conftest import ADMIN, build_app
from tests.api.stored import store_event
from tests.support.configs import TOKEN

T0 = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def _envelope(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["request_id"]
    return error


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {ADMIN}x"},
        {"Authorization": f"Basic {ADMIN}"},
        {"Authorization": "Bearer"},
        {"X-Bridge-Token": ADMIN},
    ],
)
def test_missing_or_wrong_tokens_get_401_in_the_envelope(app: Flask, headers: dict) -> None:
    client = app.test_client()
    for path in ("/api/events", "/api/config", "/api/jobs/dead", "/api/queue"):
        response = client.get(path, headers=headers)
        error = _envelope(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert ADMIN not in str(error)
    _envelope(client.post("/api/preview", json={}, headers=headers), 401, "unauthorized")


def test_without_a_configured_token_the_api_is_closed(
    tmp_path: Path, sqlite_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(tmp_path, sqlite_url, sandbox.url, monkeypatch, admin_token=None)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        error = _envelope(client.get("/api/events", headers=headers), 503, "unavailable")
        assert "BRIDGE_ADMIN_TOKEN" in error["message"]


def test_the_right_token_opens_the_api(admin: FlaskClient) -> None:
    response = admin.get("/api/events")
    assert response.status_code == 200
    assert response.get_json() == {"events": [], "next": None}


def test_event_filters_through_the_query_string(app: Flask, admin: FlaskClient) -> None:
    engine = app.extensions["bridge"].engine
    ids = [
        store_event(engine, external_id=f"r-{n}", at=T0 + timedelta(hours=n), email=f"p{n}@x.org")
        for n in range(3)
    ]
    store_event(engine, source="other", external_id="o-1", at=T0)

    def listed(query: str) -> list[str]:
        response = admin.get(f"/api/events?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [e["id"] for e in response.get_json()["events"]]

    assert listed("source=website") == list(reversed(ids))
    assert listed("since=2026-03-02T10:15:00%2B00:00") == [ids[2], ids[1]]
    assert listed("until=2026-03-02T10:15:00Z&source=website") == [ids[0]]
    assert listed("q=P2@x.org") == [ids[2]]
    assert listed("q=r-1") == [ids[1]]
    assert listed("state=dead") == []
    page = admin.get("/api/events?limit=2").get_json()
    assert len(page["events"]) == 2
    rest = listed(f"limit=2&cursor={page['next']}")
    assert len(rest) == 2 and not set(rest) & {e["id"] for e in page["events"]}

    for bad in ("state=sleeping", "limit=0", "since=yesterday", "limit=9999"):
        error = _envelope(admin.get(f"/api/events?{bad}"), 400, "bad_request")
        assert error["fields"], bad
    _envelope(admin.get("/api/events?cursor=nonsense"), 400, "bad_request")


def test_one_event_and_the_dead_list(app: Flask, admin: FlaskClient) -> None:
    engine = app.extensions["bridge"].engine
    event_id = store_event(engine, external_id="r-1", at=T0, email="a@b.org")
    reason = "gave up after 8 attempts: iVvy answered 503"
    with engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.event_id == event_id)
            .values(state="dead", finished_at=T0, last_error=reason)
        )
        conn.execute(
            update(events).where(events.c.id == event_id).values(state="dead", last_error=reason)
        )
    found = admin.get(f"/api/events/{event_id}").get_json()
    assert found["state"] == "dead" and found["last_error"] == reason
    assert found["event"]["fields"]["email"] == "a@b.org"
    assert [j["state"] for j in found["jobs"]] == ["dead"]
    assert "body" not in found and "headers" not in found

    dead = admin.get("/api/jobs/dead").get_json()["jobs"]
    assert [(d["event_id"], d["reason"], d["source"]) for d in dead] == [
        (event_id, reason, "website")
    ]
    _envelope(admin.get("/api/events/ev_nope"), 404, "not_found")
    assert admin.get("/api/queue").get_json()["dead"] == 1


def test_preview_takes_an_object_or_a_string(admin: FlaskClient) -> None:
    enquiry = {"first_name": "Priya", "email": "priya@example.org", "event_type": "wedding"}
    as_object = admin.post("/api/preview", json={"source": "website", "payload": enquiry})
    assert as_object.status_code == 200, as_object.get_data(as_text=True)
    result = as_object.get_json()
    assert [r["rule"] for r in result["rules"] if r["matched"]] == ["website-enquiry"]
    as_text = admin.post(
        "/api/preview",
        json={
            "source": "website",
            "payload": "first_name=Priya&email=priya%40example.org&event_type=wedding",
            "content_type": "application/x-www-form-urlencoded",
        },
    )
    assert as_text.status_code == 200, as_text.get_data(as_text=True)
    assert as_text.get_json()["rules"] == result["rules"]

    _envelope(admin.post("/api/preview", json={"source": "nope", "payload": {}}), 404, "not_found")
    _envelope(
        admin.post("/api/preview", json={"source": "website", "payload": "{not json"}),
        422,
        "unprocessable",
    )
    error = _envelope(admin.post("/api/preview", json={"payload": 3}), 400, "bad_request")
    assert set(error["fields"]) == {"source", "payload"}
    _envelope(admin.post("/api/preview", data="[]"), 400, "bad_request")


def test_config_is_masked(admin: FlaskClient) -> None:
    response = admin.get("/api/config")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert SANDBOX_SECRET not in text and TOKEN not in text and ADMIN not in text
    assert response.get_json()["sources"]["website"]["path"] == "/hooks/website"


def test_stats_count_per_source(app: Flask, admin: FlaskClient) -> None:
    engine = app.extensions["bridge"].engine
    store_event(engine, external_id="a", at=T0)
    store_event(engine, external_id="b", at=T0 + timedelta(minutes=5))
    stats = admin.get(
        "/api/stats?since=2026-03-02T00:00:00Z&until=2026-03-03T00:00:00Z&unit=hour"
    ).get_json()
    assert stats["sources"] == [
        {"source": "website", "bucket": "2026-03-02T09:00:00+00:00", "count": 2}
    ]
    assert stats["states"] == {"received": 2}
    _envelope(
        admin.get("/api/stats?since=2026-03-03T00:00:00Z&until=2026-03-02T00:00:00Z"),
        400,
        "bad_request",
    )


def test_any_cursor_of_the_documented_shape_is_a_position(admin: FlaskClient) -> None:
    """A cursor is a position: one no page returned is still answered, never a 400."""
    for cursor in ("20261206T044512.123456Z_ev_none", "20260230T000000.000000Z_x"):
        response = admin.get("/api/events", query_string={"cursor": cursor})
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"events": [], "next": None}
    for cursor in ("nonsense", "20261306T044512.123456Z_ev_x", "20261206T044512.123456Z_"):
        bad = admin.get("/api/events", query_string={"cursor": cursor})
        _envelope(bad, 400, "bad_request")


def test_stats_over_an_empty_window_are_empty_not_refused(admin: FlaskClient) -> None:
    at = "2026-11-20T10:00:00+00:00"
    response = admin.get("/api/stats", query_string={"since": at, "until": at})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["sources"] == []
    later = "2026-11-20T11:00:00+00:00"
    refused = admin.get("/api/stats", query_string={"since": later, "until": at})
    _envelope(refused, 400, "bad_request")


def test_a_time_before_utcs_year_one_is_a_400_not_a_500(admin: FlaskClient) -> None:
    """Found by schemathesis: ``0001-01-01T00:00:05+00:01`` is fine ISO 8601 but is in year 0
    once in UTC, where the store compares; it overflowed into a 500."""
    for path in ("/api/events", "/api/stats"):
        for name in ("since", "until"):
            response = admin.get(path, query_string={name: "0001-01-01T00:00:05+00:01"})
            error = _envelope(response, 400, "bad_request")
            assert "UTC" in str(error), error
    ok = admin.get("/api/events", query_string={"since": "0001-01-01T00:00:05-00:01"})
    assert ok.status_code == 200, ok.get_json()
