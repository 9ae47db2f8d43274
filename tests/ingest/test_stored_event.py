"""The stored event holds the payload once: ``raw`` is rebuilt from the body stored beside it.

An event is stored as ``Event.to_json(with_raw=False)`` next to its body; whoever reads it
(the worker, previews, the event page and the API, backtests) gets ``raw`` back from the body,
decoded as the source decoded it at the door (JSON, a urlencoded form with its repeated keys
as lists).  Rows stored before (``raw`` inside their JSON) are read as they are, on SQLite and
PostgreSQL: nothing migrates them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from werkzeug.http import parse_options_header

from bridge.backtest import backtest
from bridge.evaluation import preview_event
from bridge.events import Event
from bridge.ivvy.sandbox import SandboxServer
from bridge.sources.base import Accepted, InboundRequest
from bridge.sources.stored import stored_event, with_raw
from bridge.store.backtest_reads import recent_runs
from bridge.store.events import event_payload, stored_request
from bridge.store.inbox import accept
from bridge.store.queries import get_event
from bridge.store.tables import events
from bridge.web.ui.explain import event_names, explain_rules
from tests.delivery.harness import Bench, make_bench

# Every text of the task comes from ``raw``: a lost or differently decoded raw changes it.
RAW_RULE = """
  - name: from-raw
    on: {source: website}
    company: {id: 1}
    task:
      name: "Enquiry {{ raw.ref }} from {{ raw.name }}"
      description: "Tags: {{ raw.tag | join(', ') }}"
      due: "+1 day at 09:00"
"""
FORM = "application/x-www-form-urlencoded"
# A repeated key is a list in raw: the form's own decoding, not JSON's.
BODY = b"ref=R-17&name=Ana+Lima&tag=gala&tag=dinner&email=ana%40example.org"


@pytest.fixture
def bench(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> Bench:
    return make_bench(tmp_path, sandbox, database_url, rules=RAW_RULE)


def parsed(bench: Bench, body: bytes = BODY, content_type: str = FORM) -> Accepted:
    """The website form source's parse of ``body``, as ``/hooks/website`` makes it."""
    source = bench.runtime.config.sources["website"]
    request = InboundRequest(
        body=body,
        headers={"content-type": content_type},
        content_type=parse_options_header(content_type)[0],
    )
    result = source.parse(request, bench.clock())
    assert isinstance(result, Accepted)
    return result


def store(
    bench: Bench, accepted: Accepted, key: str, *, body: bytes = BODY, content_type: str = FORM
) -> str:
    """Store as the ingest route does (the body and its headers beside the event)."""
    return accept(
        bench.engine,
        accepted.event,
        key,
        headers={"content-type": content_type, "user-agent": "test"},
        body=body,
        content_type=content_type,
        now=bench.clock(),
    ).event_id


def store_old_form(bench: Bench, accepted: Accepted, key: str) -> str:
    """Store as the version before did: ``raw`` inside the event's JSON."""
    event_id = store(bench, accepted, key)
    with bench.engine.begin() as conn:
        conn.execute(
            update(events).where(events.c.id == event_id).values(event=accepted.event.to_json())
        )
    return event_id


def row(bench: Bench, event_id: str) -> dict[str, Any]:
    return dict(bench.rows("SELECT * FROM events WHERE id = :e", e=event_id)[0])


def stored_json(bench: Bench, event_id: str) -> dict[str, Any]:
    value = row(bench, event_id)["event"]
    return value if isinstance(value, dict) else json.loads(value)


def read_back(bench: Bench, event_id: str) -> Event:
    """The event as the worker reads it when the claim did not bring it."""
    payload, _digest, request = event_payload(bench.engine, event_id)
    assert payload is not None
    return stored_event(payload, request)


def page_json(bench: Bench, event_id: str) -> dict[str, Any] | None:
    """The normalised event as the event page and ``GET /api/events/<id>`` show it."""
    found = get_event(bench.engine, event_id)
    assert found is not None
    return with_raw(found["event"], stored_request(bench.engine, event_id))


def test_the_stored_event_holds_no_copy_of_the_body(bench: Bench) -> None:
    accepted = parsed(bench)
    event_id = store(bench, accepted, "new")
    stored = stored_json(bench, event_id)
    assert "raw" not in stored
    assert json.dumps(stored).count("R-17") == 1  # once, in answers: not a second time in raw
    assert bytes(row(bench, event_id)["body"]) == BODY
    # Read back, the event is the one parsed at the door: raw decoded as the form decodes.
    back = read_back(bench, event_id)
    assert back == accepted.event
    assert back.raw["tag"] == ["gala", "dinner"]


def test_an_event_stored_with_raw_inside_is_delivered_and_previewed_the_same(
    bench: Bench,
) -> None:
    accepted = parsed(bench)
    new = store(bench, accepted, "new")
    old = store_old_form(bench, accepted, "old")
    assert "raw" in stored_json(bench, old) and "raw" not in stored_json(bench, new)

    # Read back: the same event from either form.
    assert read_back(bench, new) == read_back(bench, old) == accepted.event
    # Previewed: the same verdicts and task from either form.
    now = bench.clock()
    previews = [preview_event(bench.runtime.config, read_back(bench, e), now) for e in (new, old)]
    assert previews[0] == previews[1]
    (rule,) = previews[0]["rules"]
    assert rule["verdict"] == "task"
    # The event page and the API: the stored JSON with raw, its rules' verdicts, its names.
    shown = [page_json(bench, e) for e in (new, old)]
    assert shown[0] == shown[1] == json.loads(json.dumps(accepted.event.to_json()))
    config = bench.runtime.config
    assert explain_rules(config, shown[0]) == explain_rules(config, shown[1])
    assert event_names(shown[0]) == event_names(shown[1])

    # Delivered: one task each, the same texts, all read from raw.
    assert bench.worker().run_pending() == 2
    sent = {}
    for event_id in (new, old):
        (delivery,) = bench.rows(
            "SELECT state, task FROM deliveries WHERE event_id = :e", e=event_id
        )
        assert delivery["state"] == "done", delivery
        task = delivery["task"]
        task = task if isinstance(task, dict) else json.loads(task)
        sent[event_id] = (task["name"], task["description"].split("[bridge ")[0].strip())
    assert sent[new] == sent[old] == ("Enquiry R-17 from Ana Lima", "Tags: gala, dinner")

    # Backtested: the current rules agree with what happened to both.
    report = backtest(config, "website", recent_runs(bench.engine, "website", 10), 10)
    assert (report.evaluated, report.differences) == (2, [])


def test_a_body_that_no_longer_decodes_reads_without_raw(bench: Bench) -> None:
    """A row whose body its source type cannot decode (a test's stand-in body, a type gone)."""
    accepted = parsed(bench)
    event_id = store(bench, accepted, "odd", body=b"", content_type="application/json")
    back = read_back(bench, event_id)
    assert back.raw is None
    assert back.answers == accepted.event.answers  # the rest is as stored
