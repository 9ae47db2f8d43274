"""Preview and the worker agree: for every example payload and generated variants of it.

Each variant (a field missing, empty, null or of the wrong type) is previewed and then run
by the real worker against the sandbox iVvy over HTTP, on SQLite and PostgreSQL.  Per rule,
preview's verdict must be what the worker did: no delivery for ``no_match``, the task as
sent for ``task`` (same body, ids preview could not know aside), the same words for
``error``.  The only allowed difference is what only iVvy can know: a user or an owner id
that iVvy does not have (the worker's failure then names iVvy or the assignee).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as target_event
from hypothesis import strategies as st

from bridge.config import Config, load_config
from bridge.evaluation import content_type_for, preview_event
from bridge.evaluation.warnings import rule_templates
from bridge.events import COMMON_FIELDS, Event
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.ivvy.sandbox.state import SandboxState, packaged_seed
from bridge.rules.names import condition_paths, template_paths
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sources.answers import scalar_text
from tests.delivery.harness import Bench, ManualClock
from tests.evaluation.support import deliveries, parse, store

EXAMPLES = Path(__file__).parents[2] / "examples"
PAYLOADS = sorted((EXAMPLES / "payloads").glob("*.json"))
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ENV = {
    "IVVY_API_KEY": "sandbox-key",
    "IVVY_API_SECRET": "sandbox-secret",
    "WEBSITE_FORM_TOKEN": "t",
    "TYPEFORM_SECRET": "s",
    "CALENDLY_SIGNING_KEY": "c",
}
# What only iVvy can know, so preview cannot: a user that is not there, an owner iVvy lacks.
NETWORK_ONLY = ("is not a user in iVvy", "does not exist", "not found", "Unable to find")
WRONG_TYPES: list[Any] = [["x"], {"a": 1}, True, -3, 1.5, "abc"]


def _config_text(sandbox_url: str) -> str:
    """examples/bridge.yaml against the sandbox, its assignees people the sandbox has."""
    text = (EXAMPLES / "bridge.yaml").read_text()
    text = text.replace("  region: AU ", f"  base_url: {sandbox_url} #", 1)
    # Two sandbox users share events@venue.example; the example means one person.
    return text.replace("events@venue.example", "olivia.nguyen@venue.example")


def _sandbox() -> SandboxServer:
    """The packaged seed plus the records the example iVvy notifications name."""
    seed = packaged_seed()
    seed["opportunities"] = [
        *seed["opportunities"],
        {**seed["opportunities"][0], "id": 763, "name": "Acme annual conference 2026"},
    ]
    seed["contacts"] = [
        *seed["contacts"],
        {**seed["contacts"][0], "id": 580, "email": "grace.hopper@example.com"},
    ]
    return SandboxServer(SandboxState.from_seed(seed))


@pytest.fixture(scope="module")
def seeded_sandbox() -> Iterator[SandboxServer]:
    with _sandbox() as server:
        yield server


@pytest.fixture
def bench(tmp_path: Path, seeded_sandbox: SandboxServer, database_url: str) -> Iterator[Bench]:
    path = tmp_path / "examples.yaml"
    path.write_text(_config_text(seeded_sandbox.url))
    env = {**ENV, "IVVY_API_KEY": SANDBOX_KEY, "IVVY_API_SECRET": SANDBOX_SECRET}
    runtime = Runtime(
        settings=Settings(database_url=database_url, config_path=str(path)),
        config=load_config(str(path), env=env),
        clock=ManualClock(NOW),
    )
    made = Bench(runtime, runtime.clock, seeded_sandbox)  # type: ignore[arg-type]
    yield made
    made.engine.dispose()


_keys = itertools.count()
_parsed: dict[str, Event] = {}
# The body each example event was parsed from, by the id of its raw (variants keep the raw).
_bodies: dict[int, tuple[bytes, str]] = {}


def _example(config: Config, path: Path) -> Event:
    """The example payload parsed by its source (the file name's first word)."""
    if path.name not in _parsed:
        content_type, body = content_type_for(path, path.read_bytes())
        event = parse(config, path.name.split("-")[0], body, NOW, content_type)
        _parsed[path.name] = event
        _bodies[id(event.raw)] = (body, content_type)
    return _parsed[path.name]


def _paths(event: Event) -> list[str]:
    """Where a variant may differ: each answer, each data field and one level inside."""
    found = [f"answers.{key}" for key in event.answers]
    for key, value in event.data.items():
        found.append(f"data.{key}")
        if isinstance(value, dict):
            found += [f"data.{key}.{inner}" for inner in value]
    return found


def _read_paths(config: Config, event: Event) -> list[str]:
    """The variant paths the rules read (``first_name`` is ``answers.first_name``)."""
    read: set[str] = set()
    for rule in config.rules:
        templates = [t.source for t in rule_templates(rule)]
        read.update(p for source in templates for p in template_paths(source))
        if rule.when is not None:
            read.update(condition_paths(rule.when))
    candidates = set(_paths(event))
    mapped = {p if p.split(".")[0] in ("answers", "data") else f"answers.{p}" for p in read}
    return sorted(mapped & candidates) or sorted(candidates)


def _mutated(event: Event, changes: list[tuple[str, Any]]) -> Event:
    """``event`` with each (path, value) applied; value ``...`` removes the field."""
    answers, data = copy.deepcopy(event.answers), copy.deepcopy(event.data)
    fields = dict(event.fields)
    for path, value in changes:
        root, *rest = path.split(".")
        target = answers if root == "answers" else data
        for part in rest[:-1]:
            inner = target.get(part)
            if not isinstance(inner, dict):
                break
            target = inner
        else:
            if value is ...:
                target.pop(rest[-1], None)
            else:
                target[rest[-1]] = value
            if root == "answers" and rest[-1] in COMMON_FIELDS:
                # The source fills a common field from the answer only when it has text.
                text = None if value is ... else scalar_text(value)
                if text is None:
                    fields.pop(rest[-1], None)
                else:
                    fields[rest[-1]] = text
    return Event(
        source=event.source,
        source_type=event.source_type,
        kind=event.kind,
        external_id=event.external_id,
        received_at=event.received_at,
        fields=fields,
        answers=answers,
        data=data,
        previous_data=event.previous_data,
        raw=event.raw,
    )


def _task_call(rule: dict[str, Any]) -> dict[str, Any]:
    # The creation (a task's update_open also lists the update of its key's open task).
    (call,) = [
        c
        for c in rule["calls"]
        if c["call"] == "crm?action=addOrUpdateTask" and "id" not in c["body"]
    ]
    body: dict[str, Any] = call["body"]
    return body


def _same_task(previewed: dict[str, Any], sent: dict[str, Any]) -> None:
    """The body the worker sent is preview's, with ids only delivery knew and the marker."""
    assert set(previewed) - {"description"} == set(sent) - {"description"}, (previewed, sent)
    for key, value in previewed.items():
        if key == "description":
            continue
        if isinstance(value, str) and value.startswith("<"):
            assert isinstance(sent[key], int), (key, sent)  # an id found or created by delivery
        else:
            assert sent[key] == value, (key, previewed, sent)
    description = previewed.get("description", "")
    assert sent["description"].startswith(description), (previewed, sent)
    assert sent["description"].removeprefix(description).strip().startswith("[bridge ev_")


def agree(bench: Bench, event: Event, *, count: bool = False) -> None:
    """Preview ``event``, run it through the worker, and hold each rule's verdicts equal."""
    config = bench.runtime.config
    previewed = preview_event(config, event, event.received_at)
    # Stored with the body it came in: the worker rebuilds the raw preview saw from it.
    body, content_type = _bodies[id(event.raw)]
    event_id = store(bench, event, f"property-{next(_keys)}", body, content_type)
    assert bench.worker().run_pending() == 1
    rows = deliveries(bench, event_id)
    for rule in previewed["rules"]:
        row = rows.get(rule["rule"])
        if count and rule["verdict"] != "no_match":  # --hypothesis-show-statistics
            target_event(f"{rule['verdict']}: {(rule['error'] or '')[:40]}")
        if rule["verdict"] == "no_match":
            assert row is None, (rule, row)
        elif rule["verdict"] == "error":
            assert row is not None and row["state"] == "failed", (rule, row)
            assert row["error"] == rule["error"]
        elif row is not None and row["state"] == "failed":
            assert any(words in row["error"] for words in NETWORK_ONLY), (rule, row)
        elif rule["verdict"] == "action":  # applied to whatever earlier tasks are open
            assert row is not None and row["state"] == "acted", (rule, row)
        elif row is not None and row["state"] == "acted":  # update_open: its key's open task
            assert rule["task"]["update_open"] is not None, (rule, row)
        else:
            assert row is not None and row["state"] == "done", (rule, row)
            sent = row["task"] if isinstance(row["task"], dict) else json.loads(row["task"])
            _same_task(_task_call(rule), sent)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_every_example_payload_as_it_is(bench: Bench, payload: Path) -> None:
    event = _example(bench.runtime.config, payload)
    agree(bench, event)
    previewed = preview_event(bench.runtime.config, event, NOW)
    verdicts = [r["verdict"] for r in previewed["rules"]]
    # Each makes its task, or acts on earlier ones (and opportunity-won does both).
    assert verdicts.count("task") == 1 or verdicts.count("action") == 1, verdicts


MUTATION = st.one_of(st.sampled_from([..., "", None]), st.sampled_from(WRONG_TYPES))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_variants_of_the_examples(bench: Bench, data: st.DataObject) -> None:
    event = _example(bench.runtime.config, data.draw(st.sampled_from(PAYLOADS), label="payload"))
    # Mostly the fields the rules read, sometimes any field.
    paths = st.one_of(
        st.sampled_from(_read_paths(bench.runtime.config, event)),
        st.sampled_from(_paths(event)),
    )
    changes = data.draw(
        st.lists(st.tuples(paths, MUTATION), min_size=1, max_size=3),
        label="changes",
    )
    agree(bench, _mutated(event, changes), count=True)
