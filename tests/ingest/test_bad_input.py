"""Bodies a sender can send that the bridge once failed on (issue 13, cases 1 to 3).

Each answer is a 4xx with a reason (an authentic one kept as an ``invalid`` event), or a 2xx
for an event that is stored and becomes a task in the sandbox iVvy.  On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bridge.store.tables import events
from tests.ingest.door import TOKEN, Door, open_door

DEEP = b"[" * 100_000 + b"]" * 100_000  # about 200 KB, beyond Python's recursion limit
SHALLOW_DEEP = json.dumps({"a": json.loads("[" * 200 + "]" * 200)}).encode()  # parses, too deep


@pytest.fixture
def door(tmp_path: Path, database_url: str) -> Iterator[Door]:
    with open_door(tmp_path, database_url) as door:
        yield door


def stored_count(door: Door) -> int:
    with door.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def assert_kept_invalid(door: Door, answer: object, body: bytes, reason: str) -> str:
    assert answer.status_code == 400, answer.text  # type: ignore[attr-defined]
    error = answer.json["error"]  # type: ignore[attr-defined]
    assert reason in error["message"]
    row = door.event(error["event"])
    assert (row["state"], row["kind"], row["event"]) == ("invalid", "invalid", None)
    assert bytes(row["body"]) == body
    return str(error["event"])


def assert_becomes_a_task(door: Door, answer: object) -> dict[str, object]:
    assert answer.status_code == 202, answer.text  # type: ignore[attr-defined]
    event_id = answer.json["event"]  # type: ignore[attr-defined]
    door.run_jobs()
    job = door.job(event_id)
    assert (job["state"], job["last_error"]) == ("done", None)
    page = door.admin(f"/events/{event_id}")
    assert page.status_code == 200, page.text
    return door.event(event_id)


# -- case 1: deep nesting ---------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP, SHALLOW_DEEP], ids=["recursion-limit", "200-levels"])
def test_an_authentic_deep_body_is_kept_as_invalid(door: Door, body: bytes) -> None:
    answer = door.post("form", body, "application/json", {"X-Bridge-Token": TOKEN})
    event_id = assert_kept_invalid(door, answer, body, "nested more than")
    assert door.admin(f"/events/{event_id}").status_code == 200
    assert door.admin(f"/api/events/{event_id}").status_code == 200


def test_a_signed_deep_body_is_kept_as_invalid_for_a_signing_sender(door: Door) -> None:
    assert_kept_invalid(door, door.send("typeform", DEEP), DEEP, "nested more than")


def test_a_deep_body_to_an_ivvy_source_is_a_400_without_authentication(door: Door) -> None:
    answer = door.post("ivvy", DEEP, "text/plain")
    assert answer.status_code == 400, answer.text
    assert "nested more than" in answer.json["error"]["message"]
    assert stored_count(door) == 0


def test_a_deep_ivvy_body_inside_a_signed_notification_is_kept_as_invalid(door: Door) -> None:
    answer = door.send_ivvy("ContactAdded", DEEP.decode())
    assert answer.status_code == 400, answer.text
    assert "nested more than" in answer.json["error"]["message"]
    assert door.event(answer.json["error"]["event"])["state"] == "invalid"


@pytest.mark.parametrize("payload", [DEEP, SHALLOW_DEEP], ids=["recursion-limit", "200-levels"])
def test_preview_of_a_deep_payload_is_a_400(door: Door, payload: bytes) -> None:
    body = b'{"source": "form", "payload": ' + payload + b"}"
    answer = door.client.post(
        "/api/preview",
        data=body,
        headers={"Authorization": "Bearer admin-token-for-bad-input"},
        content_type="application/json",
    )
    assert answer.status_code == 400, answer.text
    assert "nested more than" in answer.json["error"]["message"]
    text_payload = json.dumps({"source": "form", "payload": payload.decode()})
    answer = door.client.post(
        "/api/preview",
        data=text_payload,
        headers={"Authorization": "Bearer admin-token-for-bad-input"},
        content_type="application/json",
    )
    assert answer.status_code in (400, 422), answer.text
    assert "nested more than" in answer.json["error"]["message"]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (b"1e400", "a number too large"),
        (b"-1e400", "a number too large"),
        (b"1" * 5000, "a number too large"),
        (b"NaN", "holds NaN"),
        (b"Infinity", "holds Infinity"),
    ],
)
def test_a_number_json_or_postgresql_cannot_carry_is_kept_as_invalid(
    door: Door, number: bytes, reason: str
) -> None:
    body = b'{"email": "a@example.org", "guests": ' + number + b"}"
    assert_kept_invalid(door, door.send("form", body), body, reason)


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a@example.org", "name": "\xed\xa0\x80"}',  # a surrogate, UTF-8 encoded
        b'{"email": "a@example.org", "name": "\xff"}',
        '{"email": "a@example.org"}'.encode("utf-16"),
    ],
    ids=["encoded-surrogate", "latin-1", "utf-16"],
)
def test_a_json_body_that_is_not_utf8_is_kept_as_invalid(door: Door, body: bytes) -> None:
    assert_kept_invalid(door, door.send("typeform", body), body, "not UTF-8")


# -- case 2: lone surrogates ------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "email", "kind", "message"])
def test_a_lone_surrogate_is_made_safe_and_the_event_becomes_a_task(door: Door, field: str) -> None:
    payload = {"first_name": "Ana", "email": "ana@example.org", "message": "hi", "id": "s-1"}
    payload[field] = "cut emoji \ud83d"  # what JSON.stringify sends for half an emoji
    body = json.dumps(payload).encode()  # ASCII: the surrogate travels as \ud83d
    row = assert_becomes_a_task(door, door.send("form", body))
    assert bytes(row["body"]) == body  # the raw body is kept byte for byte
    stored = json.dumps(row["event"], ensure_ascii=False)
    assert "cut emoji \ufffd" in stored
    stored.encode("utf-8")
    if field == "email":
        assert row["email"] == "cut emoji \ufffd"
    task = door.tasks()[-1]
    assert "cut emoji \ufffd" in task["description"]


def test_a_lone_surrogate_in_a_key_and_a_signed_payload_is_made_safe(door: Door) -> None:
    body = json.dumps(
        {
            "event_id": "tf-\udc00",
            "event_type": "form_response",
            "form_response": {"form_id": "f", "answers": [], "hidden": {"\udfff": "x\ud800"}},
        }
    ).encode()
    row = assert_becomes_a_task(door, door.send("typeform", body))
    json.dumps(row["event"], ensure_ascii=False).encode("utf-8")
    assert row["external_id"] == "tf-\ufffd"


# -- case 3: NUL -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "email", "kind", "message"])
def test_a_nul_in_json_is_made_safe_and_the_event_becomes_a_task(door: Door, field: str) -> None:
    payload = {"first_name": "Ana", "email": "ana@example.org", "message": "hi", "id": "n-1"}
    payload[field] = "before\u0000after"
    body = json.dumps(payload).encode()
    row = assert_becomes_a_task(door, door.send("form", body))
    assert bytes(row["body"]) == body
    assert "\x00" not in json.dumps(row["event"], ensure_ascii=False).replace("\\u0000", "\x00")
    assert "before\ufffdafter" in json.dumps(row["event"], ensure_ascii=False)


def test_a_nul_in_an_urlencoded_email_is_made_safe(door: Door) -> None:
    body = urlencode({"email": "ana\x00@example.org", "first_name": "A\x00na", "id": "u\x00"})
    row = assert_becomes_a_task(
        door, door.send("form", body.encode(), "application/x-www-form-urlencoded")
    )
    assert row["email"] == "ana\ufffd@example.org"
    assert row["external_id"] == "u\ufffd"


@pytest.mark.parametrize(
    "path",
    [
        "/api/events?source=a%00b",
        "/api/events?q=%00",
        "/api/events/ev_%00",
        "/api/jobs/dead?limit=%00",
        "/api/stats?unit=%00",
        "/events?q=%00",
        "/events/ev_%00",
    ],
)
def test_a_nul_in_an_admin_url_is_a_400(door: Door, path: str) -> None:
    answer = door.admin(path)
    assert answer.status_code == 400, answer.text
    assert "NUL" in answer.text


# -- found by the property tests (test_bad_input_properties.py) ------------------------


def test_a_tally_option_whose_id_is_a_list_is_kept_as_it_came(door: Door) -> None:
    """Tally options are looked up by id; a list as an id answered 500 (unhashable)."""
    sample = json.loads((Path(__file__).parents[1] / "fixtures/samples/tally.json").read_text())
    field = {"key": "q", "label": "Pick", "type": "CHECKBOXES", "value": [[1], "b"]}
    field["options"] = [{"id": [1], "text": "one"}, {"id": "b", "text": "bee"}]
    sample["data"]["fields"] = [field]
    row = assert_becomes_a_task(door, door.send("tally", json.dumps(sample).encode()))
    assert row["event"]["answers"]["q"] == [[1], "bee"]


@pytest.mark.parametrize("contact_id", ["\u00b2", "1" * 5000])
def test_an_ivvy_id_that_is_not_ascii_digits_is_refused_with_a_reason(
    door: Door, contact_id: str
) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` raises: that id answered 500."""
    body = json.dumps({"data": {"id": contact_id, "email": "a@example.org"}})
    answer = door.send_ivvy("ContactAdded", body)
    assert answer.status_code == 400, answer.text
    assert "unexpected shape" in answer.json["error"]["message"]
