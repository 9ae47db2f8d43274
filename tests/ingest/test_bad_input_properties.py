"""Property: whatever a sender sends, the answer is a 4xx with a reason or a stored event
that becomes a task (issue 13).

Every sender type, on SQLite and PostgreSQL, in this process (Flask's test client) with a
real worker against the sandbox iVvy.  Invariants for each delivery:

- never a 5xx (the database is up), never a 401 (every delivery is signed as its sender signs);
- a 2xx names a stored event; a 400 naming an event names an ``invalid`` one (a body that
  does not decode, refused at the door);
- the job of a new event ends ``done`` against the sandbox, or ``dead`` with a reason a
  person can act on, never an internal error; a body the worker's parse refuses makes the
  event ``invalid`` with that reason and the job ``done``; the event's pages answer 200;
- what is stored, the worker's parse included, is text UTF-8 and PostgreSQL can carry (no
  NUL, no lone surrogate).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from bridge.sources.base import Accepted
from bridge.sources.stored import stored_event, stored_inbound
from bridge.store.states import EventState, JobState
from bridge.store.types import StoredRequest
from tests.ingest.bodies import (
    BOUNDARY,
    bent_payloads,
    dumps,
    form_pairs,
    jotform_bodies,
    urlencoded,
)
from tests.ingest.door import ADMIN, SENDERS, Door, open_door

CONTENT_TYPE = {"jotform": f"multipart/form-data; boundary={BOUNDARY}"}
JSON_SENDERS = [kind for kind in SENDERS if kind != "jotform"]
URLENCODED_SENDERS = ["form", "hmac"]
UNSAFE = ("\x00", *(chr(c) for c in range(0xD800, 0xE000)))

# BRIDGE_PROPERTY_EXAMPLES=500 searches harder (minutes per sender); the suite keeps it quick.
SETTINGS = settings(
    max_examples=int(os.environ.get("BRIDGE_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def door(tmp_path: Path, database_url: str) -> Iterator[Door]:
    with open_door(tmp_path, database_url) as door:
        yield door


def unsafe_strings(value: Any) -> list[str]:
    """Every string (keys too) inside ``value`` that UTF-8 or PostgreSQL could not carry."""
    if isinstance(value, str):
        return [value] if any(c in value for c in UNSAFE) else []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in unsafe_strings(k) + unsafe_strings(v)]
    if isinstance(value, list):
        return [s for item in value for s in unsafe_strings(item)]
    return []


def check_answer(door: Door, answer: TestResponse, *, signed: bool = True) -> str | None:
    """The invariants of one answer; the id of a new event, if one was stored."""
    assert answer.status_code < 500, answer.text
    if signed:
        assert answer.status_code != 401, answer.text
    body = answer.json
    assert isinstance(body, dict), answer.text
    if answer.status_code in (200, 202) and "event" in body:
        check_stored_columns(door.event(body["event"]))
        return str(body["event"]) if answer.status_code == 202 else None
    if answer.status_code == 400 and "event" in body["error"]:
        event_id = body["error"]["event"]
        assert door.event(event_id)["state"] == EventState.INVALID
        assert door.admin(f"/events/{event_id}").status_code == 200
        assert door.admin(f"/api/events/{event_id}").status_code == 200
    return None


def check_stored_columns(row: dict[str, Any]) -> None:
    stored = [row["event"], row["email"], row["external_id"], row["kind"], row["dedupe_key"]]
    assert unsafe_strings(stored) == []


def check_stored_once(door: Door, row: dict[str, Any]) -> None:
    """No ``raw`` in the stored event; read back, raw is the source's parse of the stored body.

    And the dedupe key the door took from the decoded body is the one the parse gives.
    """
    assert "raw" not in row["event"]
    stored = StoredRequest.of(row["body"], row["headers"], row["content_type"])
    source = door.runtime.config.sources[row["source"]]
    expected = source.parse(stored_inbound(stored), row["received_at"])
    assert isinstance(expected, Accepted)
    assert stored_event(row["event"], stored).raw == expected.event.raw
    if len(expected.dedupe_key) <= 255:  # a longer one is stored hashed
        assert row["dedupe_key"] == expected.dedupe_key


def check_delivery(door: Door, event_id: str | None) -> None:
    """The new event's job ends done, or dead with a reason; its pages answer."""
    if event_id is None:
        return
    door.run_jobs()
    job = door.job(event_id)
    row = door.event(event_id)
    check_stored_columns(row)
    assert job["state"] in (JobState.DONE, JobState.DEAD), job
    if job["state"] == JobState.DEAD:
        assert job["last_error"] and not job["last_error"].startswith("internal error"), job
    if row["state"] == EventState.INVALID:  # the worker's parse refused it: done, with why
        assert job["state"] == JobState.DONE and row["event"] is None, (job, row)
        assert row["last_error"] and not row["last_error"].startswith("internal error"), row
    else:
        check_stored_once(door, row)
    assert door.admin(f"/events/{event_id}").status_code == 200
    assert door.admin(f"/api/events/{event_id}").status_code == 200


def deliver(door: Door, kind: str, body: bytes, content_type: str | None = None) -> int:
    """Send, check the answer and the delivery; the answer's status."""
    content_type = content_type or CONTENT_TYPE.get(kind, "application/json")
    answer = door.send(kind, body, content_type)
    check_delivery(door, check_answer(door, answer))
    return answer.status_code


@pytest.mark.parametrize("kind", JSON_SENDERS)
def test_any_json_in_a_senders_payload(kind: str, door: Door) -> None:
    statuses: set[int] = set()

    @given(payload=bent_payloads(kind), ascii_only=st.booleans())
    @SETTINGS
    def property_holds(payload: Any, ascii_only: bool) -> None:
        # The iVvy Body is signed as text by iVvy: it always travels as ASCII-escaped JSON.
        statuses.add(deliver(door, kind, dumps(payload, ascii_only or kind == "ivvy")))

    property_holds()
    assert 202 in statuses  # the bent payloads reach storage, not only refusals


def test_any_jotform_multipart_delivery(door: Door) -> None:
    statuses: set[int] = set()

    @given(body=jotform_bodies())
    @SETTINGS
    def property_holds(body: bytes) -> None:
        statuses.add(deliver(door, "jotform", body))

    property_holds()
    assert 202 in statuses


@pytest.mark.parametrize("kind", URLENCODED_SENDERS)
def test_any_urlencoded_form(kind: str, door: Door) -> None:
    @given(pairs=form_pairs, raw=st.binary(max_size=60))
    @SETTINGS
    def property_holds(pairs: list[tuple[str, str]], raw: bytes) -> None:
        deliver(door, kind, urlencoded(pairs), "application/x-www-form-urlencoded")
        deliver(door, kind, raw, "application/x-www-form-urlencoded")

    property_holds()


@pytest.mark.parametrize("kind", SENDERS)
def test_any_bytes(kind: str, door: Door) -> None:
    @given(body=st.binary(max_size=300) | st.text().map(lambda t: t.encode("utf-8", "replace")))
    @settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples * 2 // 3))
    def property_holds(body: bytes) -> None:
        if kind == "ivvy":  # the SNS envelope itself: it cannot be signed, only refused
            answer = door.post("ivvy", body, "text/plain")
            check_answer(door, answer, signed=False)
            assert answer.status_code in (400, 401), answer.text
        else:
            deliver(door, kind, body)

    property_holds()


def test_a_deep_object_under_every_key_of_a_typeform_answer(door: Door) -> None:
    """The invariants hold for a known-awkward case too: json.dumps refuses nothing here."""
    payload = json.loads((Path(__file__).parents[1] / "fixtures/samples/typeform.json").read_text())
    payload["form_response"]["hidden"] = {"\ud800": [[[[{"\x00": 1e308}]]]]}
    deliver(door, "typeform", dumps(payload, ensure_ascii=False))


@pytest.mark.parametrize("kind", SENDERS)
def test_any_payload_in_the_preview(kind: str, door: Door) -> None:
    """``/api/preview`` shows what the parse makes of a payload, or a 4xx with the reason.

    Never a 5xx.
    """

    @given(payload=bent_payloads(kind), as_text=st.booleans())
    @settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples * 2 // 3))
    def property_holds(payload: Any, as_text: bool) -> None:
        text = dumps(payload).decode()
        # Written as text: the payload may be JSON that json.loads would refuse (too deep).
        inner = json.dumps(text) if as_text else text
        body = f'{{"source": {json.dumps(kind)}, "payload": {inner}}}'
        answer = door.client.post(
            "/api/preview",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert answer.status_code in (200, 400, 422), answer.text
        assert isinstance(answer.json, dict)

    property_holds()
