"""Every field by its own name, and absent is absent: in conditions, templates and the worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.config import Config, load_config
from bridge.evaluation import evaluate_event, preview
from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import CONFIG_ENV, make_bench
from tests.evaluation.support import deliveries, parse, store
from tests.support.configs import write_config

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FORM = {"first_name": "Tom", "guests": 150, "opportunity_id": 2665, "event_date": "2027-03-01"}
RULES = """
  - name: big-party
    on: {source: website}
    when: {field: guests, gte: 100}
    company: {id: 1}
    task:
      name: "Call {{ first_name }} {{ last_name | default('Unknown') }} ({{ guests }} guests)"
      description: >-
        opp {{ opportunity_id }}; defined: {{ last_name is defined }}; from {{ source }}
      due: "+1 day at 09:00"
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = write_config(tmp_path, ivvy_url="http://127.0.0.1:9", rules=RULES)
    return load_config(str(path), env=CONFIG_ENV)


def _event(config: Config, payload: dict[str, object]):
    return parse(config, "website", json.dumps(payload).encode(), NOW, "application/json")


def test_every_form_key_is_a_name_and_absent_takes_the_default(config: Config) -> None:
    (verdict,) = evaluate_event(config, _event(config, FORM), NOW)
    assert verdict.kind == "task", verdict
    assert verdict.plan is not None
    assert verdict.plan.name == "Call Tom Unknown (150 guests)"
    assert verdict.plan.description == "opp 2665; defined: False; from website"


def test_an_empty_string_stays_an_empty_string(config: Config) -> None:
    (verdict,) = evaluate_event(config, _event(config, {**FORM, "last_name": ""}), NOW)
    assert verdict.plan is not None
    assert verdict.plan.name == "Call Tom  (150 guests)"  # defined, so no default
    assert "defined: True" in verdict.plan.description


def test_an_answer_never_shadows_the_documented_names(config: Config) -> None:
    context = _event(config, {**FORM, "source": "google ads", "kind": "x", "data": 3}).context()
    assert (context["source"], context["kind"], context["data"]) == ("website", "x", {})
    assert context["answers"]["source"] == "google ads"
    assert "last_name" not in context and "email" not in context


def test_conditions_and_templates_read_the_same_names(config: Config) -> None:
    small = _event(config, {**FORM, "guests": 20})
    (verdict,) = evaluate_event(config, small, NOW)
    assert not verdict.matched
    assert verdict.reasons[-1] == "guests is 20, not at least 100"
    missing = _event(config, {"first_name": "Tom"})
    (verdict,) = evaluate_event(config, missing, NOW)
    assert not verdict.matched
    assert verdict.reasons[-1].startswith("guests is missing")


def test_the_preview_of_the_issue_payload(config: Config) -> None:
    result = preview(config, "website", json.dumps(FORM).encode(), "application/json", NOW)
    (rule,) = result["rules"]
    assert rule["verdict"] == "task"
    assert rule["task"]["name"] == "Call Tom Unknown (150 guests)"


def test_the_worker_sees_the_same_names(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=RULES)
    config = bench.runtime.config
    event_id = store(bench, _event(config, FORM), "names-1")
    assert bench.worker().run_pending() == 1
    done = deliveries(bench, event_id)["big-party"]
    assert done["state"] == "done", done
    (task,) = bench.listing("tasks")
    assert task["name"] == "Call Tom Unknown (150 guests)"
    assert task["description"].startswith("opp 2665; defined: False; from website")
    bench.engine.dispose()


def test_a_null_renders_empty_not_none(config: Config) -> None:
    # Found while writing the property test: {{ data.ownerUser.id }} of a null rendered 'None',
    # which the worker then looked up as a user's name.
    (verdict,) = evaluate_event(config, _event(config, {**FORM, "last_name": None}), NOW)
    assert verdict.plan is not None
    assert verdict.plan.name == "Call Tom  (150 guests)"


def test_preview_no_longer_promises_a_contact_the_worker_cannot_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    rules = """
  - name: call-back
    on: {source: website}
    contact: {email: "{{ email }}", create: true}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
"""
    path = write_config(tmp_path, ivvy_url="http://127.0.0.1:9", rules=rules)
    for name, value in CONFIG_ENV.items():
        monkeypatch.setenv(name, value)
    payload = tmp_path / "website-tom.json"
    payload.write_text(json.dumps({"first_name": "Tom", "email": "tom@example.org"}))
    argv = ["preview", "--config", str(path), "--source", "website", str(payload)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "[ERROR] call-back" in out
    assert "! a new contact needs lastName, and the event has none" in out
    assert out.rstrip().endswith("1 of 1 rules matched; 0 tasks would be created; 1 error")
