"""The door verifies and decodes; the worker parses (decision 2 in docs/architecture.md).

A delivery whose body decodes but does not fit its sender's shape is answered 202 and kept;
the worker's parse makes the event ``invalid`` with the reason (fields named, never values)
and settles its job ``done``, creating nothing in iVvy.  On SQLite and PostgreSQL, in this
process with a real worker against the sandbox iVvy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bridge.store.inbox import UNPARSED_KIND
from bridge.store.states import EventState, JobState
from tests.ingest.door import ADMIN, Door, open_door

SAMPLE = Path(__file__).parents[1] / "fixtures" / "samples" / "typeform.json"


@pytest.fixture
def door(tmp_path: Path, database_url: str) -> Iterator[Door]:
    with open_door(tmp_path, database_url) as door:
        yield door


def typeform(**changes: Any) -> dict[str, Any]:
    payload = json.loads(SAMPLE.read_text())
    payload["form_response"].update(changes)
    return payload


def invalid_count() -> float:
    return REGISTRY.get_sample_value("bridge_failures_total", {"class": "invalid"}) or 0.0


def test_a_body_that_does_not_fit_is_accepted_then_made_invalid_by_the_worker(
    door: Door, caplog: pytest.LogCaptureFixture
) -> None:
    payload = typeform(answers="not a list of answers: a secret-looking value")
    body = json.dumps(payload).encode()
    answer = door.send("typeform", body)
    assert answer.status_code == 202, answer.text
    event_id = answer.json["event"]
    waiting = door.event(event_id)
    # Keyed at the door by the sender's id (searchable at once), with nothing parsed yet.
    assert waiting["dedupe_key"] == f"id:{payload['event_id']}"
    assert waiting["external_id"] == payload["event_id"]
    assert (waiting["state"], waiting["kind"], waiting["event"]) == (
        EventState.RECEIVED,
        UNPARSED_KIND,
        None,
    )
    before, tasks_before = invalid_count(), len(door.tasks())

    with caplog.at_level(logging.WARNING, logger="bridge.delivery.runner"):
        door.run_jobs()

    row, job = door.event(event_id), door.job(event_id)
    assert (row["state"], row["event"], job["state"]) == (EventState.INVALID, None, JobState.DONE)
    assert "form_response.answers" in row["last_error"]
    assert "secret-looking" not in row["last_error"]
    assert bytes(row["body"]) == body
    assert len(door.tasks()) == tasks_before
    assert invalid_count() == before + 1
    (logged,) = [r for r in caplog.records if r.getMessage().startswith("event invalid")]
    assert (logged.event_id, logged.source) == (event_id, "typeform")  # type: ignore[attr-defined]
    assert "secret-looking" not in logged.reason  # type: ignore[attr-defined]
    page = door.admin(f"/api/events/{event_id}")
    assert page.status_code == 200 and page.json["state"] == EventState.INVALID, page.text

    # The sender's retry of the same delivery is the same event, not a second one.
    again = door.send("typeform", body)
    assert (again.status_code, again.json) == (200, {"event": event_id, "duplicate": True})


def test_a_good_body_is_parsed_by_the_worker_into_its_columns(door: Door) -> None:
    payload = typeform()
    answer = door.send("typeform", json.dumps(payload).encode())
    assert answer.status_code == 202, answer.text
    event_id = answer.json["event"]
    assert door.event(event_id)["email"] is None  # not parsed at the door

    door.run_jobs()

    row = door.event(event_id)
    assert row["state"] in (EventState.DONE, EventState.NO_MATCH), row["last_error"]
    assert (row["kind"], row["external_id"]) == (payload["event_type"], payload["event_id"])
    assert row["event"]["kind"] == payload["event_type"] and "raw" not in row["event"]
    emails = [a["email"] for a in payload["form_response"]["answers"] if a["type"] == "email"]
    assert row["email"] == emails[0].lower()


def test_a_body_that_does_not_decode_is_still_refused_at_the_door(door: Door) -> None:
    answer = door.send("typeform", b'{"event_id": "x", "form_response": ')
    assert answer.status_code == 400, answer.text
    assert door.event(answer.json["error"]["event"])["state"] == EventState.INVALID


def test_an_event_whose_source_is_gone_dies_with_a_reason_and_replays_once_it_is_back(
    door: Door,
) -> None:
    answer = door.send("typeform", json.dumps(typeform()).encode())
    event_id = answer.json["event"]
    sources = door.runtime.config.sources
    typeform_source = sources.pop("typeform")
    try:
        door.run_jobs()
    finally:
        sources["typeform"] = typeform_source
    job = door.job(event_id)
    assert job["state"] == JobState.DEAD and "not configured" in job["last_error"], job
    assert door.event(event_id)["state"] == EventState.DEAD

    replay = door.client.post(
        f"/api/events/{event_id}/replay", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert replay.status_code in (200, 202), replay.text
    door.run_jobs()
    row = door.event(event_id)
    assert row["state"] in (EventState.DONE, EventState.NO_MATCH), row["last_error"]
    assert row["kind"] == "form_response"
