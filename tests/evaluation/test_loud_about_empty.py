"""Loud about empty: warnings name what the event lacks; empty names, owners, assignees fail."""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge import create_app
from bridge.cli import main
from bridge.config import Config, load_config
from bridge.evaluation import evaluate_event, preview
from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import CONFIG_ENV, make_bench
from tests.evaluation.support import deliveries, parse, store
from tests.support.configs import write_config

ADMIN = "admin-token-for-tests"
EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FORM = {"first_name": "Tom", "guests": 150, "email": "tom@example.org"}
RULES = """
  - name: typo
    on: {source: website}
    when: {field: guest, gte: 1}
    company: {id: 1}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
  - name: typo-in-template
    on: {source: website}
    company: {id: 1}
    task: {name: "Call {{ first_name }} about {{ guest }} people", due: "+1 day"}
  - name: empty-name
    on: {source: website}
    company: {id: 1}
    task: {name: "{{ frist_name }}", due: "+1 day"}
  - name: empty-owner
    on: {source: website}
    lead: {id: "{{ opportunity }}"}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
  - name: empty-assignee
    on: {source: website}
    company: {id: 1}
    task: {name: "Call {{ first_name }}", due: "+1 day", assignee: "{{ owner_email }}"}
  - name: guarded
    on: {source: website}
    company: {id: 1}
    task: {name: "Call {{ first_name }} {{ last_name | default('') }}", due: "+1 day"}
  - name: other-source
    on: {source: elsewhere}
    company: {id: 1}
    task: {name: "{{ nothing }}", due: "+1 day"}
"""
SOURCES = """
  website: {type: form, token: "${WEBSITE_TOKEN}"}
  elsewhere: {type: form, token: "${WEBSITE_TOKEN}"}
"""
EMPTY_NAME = (
    "the task name '{{ frist_name }}' rendered empty "
    "(frist_name: not in this event; did you mean first_name?)"
)
EMPTY_ASSIGNEE = (
    "the assignee '{{ owner_email }}' rendered empty "
    "(owner_email: not in this event; did you mean email?)"
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = write_config(tmp_path, ivvy_url="http://127.0.0.1:9", rules=RULES, sources=SOURCES)
    return load_config(str(path), env=CONFIG_ENV)


def test_warnings_name_the_missing_field_and_the_nearest_ones(config: Config) -> None:
    event = parse(config, "website", json.dumps(FORM).encode(), NOW, "application/json")
    verdicts = {v.rule: v for v in evaluate_event(config, event, NOW)}
    hint = "guest: not in this event; did you mean guests?"
    assert verdicts["typo"].warnings == (hint,)
    assert verdicts["typo"].reasons[-1] == "guest is missing"
    assert verdicts["typo-in-template"].warnings == (hint,)
    assert verdicts["typo-in-template"].kind == "task"  # a warning, not an error
    assert verdicts["guarded"].warnings == ()  # default() allows for its absence
    assert verdicts["other-source"].warnings == ()  # not this event's rule
    assert verdicts["empty-name"].error == EMPTY_NAME
    assert verdicts["empty-owner"].error == (
        "the lead id rendered empty from '{{ opportunity }}' (opportunity: not in this event)"
    )
    assert verdicts["empty-assignee"].error == EMPTY_ASSIGNEE
    result = preview(config, "website", json.dumps(FORM).encode(), "application/json", NOW)
    shown = {r["rule"]: r for r in result["rules"]}
    assert shown["typo"]["warnings"] == [hint]
    assert shown["empty-name"]["verdict"] == "error"
    assert "guests" in result["names"] and "answers.guests" in result["names"]


def test_the_worker_fails_with_the_same_words(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    one_source = RULES.split("  - name: other-source")[0]
    bench = make_bench(tmp_path, sandbox, database_url, rules=one_source)
    event = parse(
        bench.runtime.config, "website", json.dumps(FORM).encode(), NOW, "application/json"
    )
    event_id = store(bench, event, "loud-1")
    assert bench.worker().run_pending() == 1
    rows = deliveries(bench, event_id)
    assert rows["empty-name"]["error"] == EMPTY_NAME
    assert rows["empty-assignee"]["error"] == EMPTY_ASSIGNEE
    assert rows["typo-in-template"]["state"] == "done"
    assert "typo" not in rows  # did not match

    # The event page and POST /api/preview show the warnings and the names the event has.
    settings = replace(bench.runtime.settings, admin_token=ADMIN)
    app = create_app(runtime=replace(bench.runtime, settings=settings))
    client = app.test_client()
    basic = base64.b64encode(f"admin:{ADMIN}".encode()).decode()
    html = client.get(f"/events/{event_id}", headers={"Authorization": f"Basic {basic}"}).text
    row = html.split('data-rule="typo-in-template"', 1)[1].split("</tr>", 1)[0]
    assert "guest: not in this event; did you mean guests?" in row
    names = html.split('id="names"', 1)[1].split("</details>", 1)[0]
    assert "<code>guests</code>" in names and "<code>answers.guests</code>" in names
    answer = client.post(
        "/api/preview",
        json={"source": "website", "payload": FORM},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert "guests" in body["names"]
    by_rule = {r["rule"]: r for r in body["rules"]}
    assert by_rule["typo-in-template"]["warnings"] == [
        "guest: not in this event; did you mean guests?"
    ]
    assert by_rule["empty-assignee"]["error"] == EMPTY_ASSIGNEE
    app.extensions["bridge"].database.dispose()
    bench.engine.dispose()


def _example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "IVVY_API_KEY",
        "IVVY_API_SECRET",
        "WEBSITE_FORM_TOKEN",
        "TYPEFORM_SECRET",
        "CALENDLY_SIGNING_KEY",
    ):
        monkeypatch.setenv(name, f"value-of-{name.lower()}")


def test_check_runs_every_rule_on_the_example_payloads(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    _example_env(monkeypatch)
    monkeypatch.chdir(EXAMPLES.parent)
    assert main(["check", "examples/bridge.yaml", "--payloads", "examples/payloads"]) == 0
    out = capsys.readouterr().out
    for payload in (EXAMPLES / "payloads").glob("*.json"):
        assert f"{payload.name} → " in out
    assert "website-enquiry.json → website: 1 of 10 rules matched; 1 task" in out
    assert "rule booking-cancelled: cancel the open tasks of booking-confirmed" in out
    assert "ERROR" not in out


def test_check_fails_on_a_payload_a_rule_cannot_make_a_task_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    _example_env(monkeypatch)
    folder = tmp_path / "payloads"
    folder.mkdir()
    shutil.copy(EXAMPLES / "payloads" / "typeform-enquiry.json", folder)
    (folder / "website-no-names.json").write_text(
        json.dumps({"email": "a@example.org", "event_type": "Wedding"})
    )
    (folder / "nowhere-x.json").write_text("{}")
    config = str(EXAMPLES / "bridge.yaml")
    assert main(["check", config, "--payloads", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "typeform-enquiry.json → typeform: 1 of 10 rules matched" in captured.out
    assert (
        "  rule website-enquiry: ERROR a new contact needs firstName and lastName, "
        "and the event has none"
    ) in captured.out
    assert "nowhere-x.json: ERROR no source named 'nowhere'" in captured.out
    assert captured.err.endswith(f"{folder}: 2 errors\n")


def test_a_plan_without_what_ivvy_requires_of_a_new_lead_is_refused() -> None:
    from bridge.evaluation.checks import plan_problem
    from bridge.rules.plan import OwnerPlan, TaskPlan

    owner = OwnerPlan(
        "new_lead",
        email="a@example.org",
        create_contact=True,
        contact_fields={"firstName": "A", "lastName": "B"},
        lead_fields={"name": "Gala", "sourceId": 1, "typeId": 1, "stageId": 1},
    )
    plan = TaskPlan(rule="r", name="Call", due=NOW, owner=owner)
    assert plan_problem(plan) == "a new lead needs industryId, and the rule gives none"
