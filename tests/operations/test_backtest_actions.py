"""Backtest of rules that complete, cancel or update earlier tasks, and of ``update_open``:
enquiries ingested through the app and delivered by a real worker to the sandbox iVvy (a
form twice updates its call-back task; a withdrawal cancels it), then the same config (no
differences) and changed ones (differences), counted like creations."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from bridge import create_app
from bridge.backtest import Report, backtest
from bridge.backtest.compare import Then, difference
from bridge.backtest.verdicts import Verdict
from bridge.config import load_config
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.backtest_reads import recent_runs
from bridge.store.tables import deliveries, task_actions
from tests.e2e.test_lifecycle_examples import Examples, examples
from tests.operations.bridge_under_test import Bridge, enquiry
from tests.operations.test_backtest import rows, run_cli

CALL_BACK = """
  - name: call-back
    on: {source: website}
    when: {field: answers.event_type, in: [wedding, conference]}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Call {{ first_name }} back"
      description: "{{ message }}"
      due: "+1 business day at 09:00"
      key: "{{ email }}"
      update_open: {within_days: 7, append: "Again: {{ message }}"}
"""
WITHDRAWN = """
  - name: withdrawn
    on: {source: website}
    when: {field: answers.event_type, in: [withdrawn]}
    cancel:
      tasks_of: call-back
      key: "{{ email }}"
      append: "Withdrawn by the enquirer."
"""
# Without update_open: the second form would create a task, not update the open one.
CALL_BACK_ALWAYS = CALL_BACK.replace(
    '      update_open: {within_days: 7, append: "Again: {{ message }}"}\n', ""
)
# A withdrawal completes the call-back instead of cancelling it.
WITHDRAWN_COMPLETES = WITHDRAWN.replace("cancel:", "complete:").replace(
    '      append: "Withdrawn by the enquirer."\n', ""
)
# New: a conference enquiry cancels its own call-back (an action where none was taken).
CONFERENCE_CANCELS = """
  - name: conference-elsewhere
    on: {source: website}
    when: {field: answers.event_type, in: [conference]}
    cancel: {tasks_of: call-back, key: "{{ email }}"}
"""
ADMIN = "backtest-admin-token"
__all__ = ["examples"]  # the fixture, from the lifecycle examples' tests


def deliver(bridge: Bridge) -> tuple[Runtime, list[str]]:
    """Five enquiries, each delivered by a worker before the next arrives."""
    in_force = bridge.runtime(bridge.config("v1", CALL_BACK + WITHDRAWN))
    sent = [
        {**enquiry(1), "event_type": "wedding"},  # creates priya1's call-back
        {**enquiry(1), "id": "enquiry-1-again", "event_type": "wedding"},  # updates it
        {**enquiry(2), "event_type": "conference"},  # creates priya2's call-back
        {**enquiry(2), "id": "enquiry-2-off", "event_type": "withdrawn"},  # cancels it
        {**enquiry(3), "event_type": "withdrawn"},  # priya3 has no call-back to cancel
    ]
    ids = []
    for payload in sent:
        ids.append(bridge.receive(in_force, payload))
        assert bridge.work(in_force) == 1
    made = bridge.bridge_tasks()  # priya1's (updated once), priya2's (cancelled)
    assert sorted(t["status"] for t in made) == [0, 3]
    return in_force, ids


def counts(report: Report) -> dict[str, tuple[int, int, dict[str, int], int, int]]:
    """Per rule: matched, tasks, actions by kind, errors, differences."""
    return {
        name: (t.matched, t.tasks, dict(+t.actions), sum(t.errors.values()), t.differences)
        for name, t in report.tallies.items()
    }


def test_actions_are_counted_and_set_against_what_happened(bridge: Bridge) -> None:
    in_force, ids = deliver(bridge)
    assert bridge.count(task_actions) == 2  # the update of priya1's task, the cancel of priya2's
    assert bridge.count(deliveries, deliveries.c.state == "acted") == 3
    runs = recent_runs(bridge.engine, "website", 50)

    # The config in force: every action is one it took; nothing differs, nothing errs.
    same = backtest(in_force.config, "website", runs, 50)
    assert counts(same) == {
        "call-back": (3, 2, {"update": 1}, 0, 0),
        "withdrawn": (2, 0, {"cancel": 2}, 0, 0),
    }
    assert same.differences == []
    assert same.summary.startswith(
        "5 events of website: 2 tasks would be created, 3 actions on earlier tasks, 0 errors; "
        "0 differences"
    )

    # Changed: no update_open, complete instead of cancel, a new cancelling rule.
    changed = bridge.runtime(
        bridge.config("v2", CALL_BACK_ALWAYS + WITHDRAWN_COMPLETES + CONFERENCE_CANCELS)
    ).config
    before = rows(bridge), bridge.count(task_actions)
    report = backtest(changed, "website", recent_runs(bridge.engine, "website", 50), 50)
    assert counts(report) == {
        "call-back": (3, 3, {}, 0, 1),
        "withdrawn": (2, 0, {"complete": 2}, 0, 1),  # priya3's found no task: not a difference
        "conference-elsewhere": (1, 0, {"cancel": 1}, 0, 1),
    }
    said = {(d.event_id, d.rule): d.summary for d in report.differences}
    assert said.keys() == {
        (ids[1], "call-back"),
        (ids[3], "withdrawn"),
        (ids[2], "conference-elsewhere"),
    }
    updated = said[(ids[1], "call-back")]
    assert updated.startswith("would create 'Call Priya back'; then it updated task ")
    assert updated.endswith("(its key's open task) instead of creating one")
    assert said[(ids[3], "withdrawn")].startswith(
        "would complete the open tasks of call-back with key 'priya2@example.org' instead; "
        "then it cancelled task "
    )
    assert said[(ids[2], "conference-elsewhere")] == (
        "would cancel the open tasks of call-back with key 'priya2@example.org'; "
        "then it did not match"
    )
    as_json = report.to_json()
    tally = {r["rule"]: r for r in as_json["rules"]}
    assert tally["withdrawn"]["actions"] == 2
    assert tally["withdrawn"]["action_counts"] == {"complete": 2, "cancel": 0, "update": 0}
    [then] = [d["then"] for d in as_json["differences"] if d["rule"] == "withdrawn"]
    assert then["kind"] == "action" and then["action"] == "cancel"
    [cancelled] = then["task_ids"]
    assert [t["status"] for t in bridge.bridge_tasks() if t["id"] == cancelled] == [3]
    [now] = [r for r in as_json["runs"] if r["event"] == ids[2]]
    assert {v["rule"]: v["verdict"] for v in now["rules"]} == {
        "call-back": "task",
        "conference-elsewhere": "action",
    }

    # A rule gone from the config: the actions it took are differences of their own.
    gone = bridge.runtime(bridge.config("v3", CALL_BACK)).config
    without = backtest(gone, "website", recent_runs(bridge.engine, "website", 50), 50)
    assert [(d.event_id, d.rule, d.summary) for d in without.differences] == [  # newest first
        (ids[4], "withdrawn", "not in this config; then it found no open task to act on"),
        (ids[3], "withdrawn", f"not in this config; then it cancelled task {cancelled}"),
    ]
    assert without.tallies["call-back"].actions == {"update": 1}

    # Nothing was sent and nothing was written.
    assert (rows(bridge), bridge.count(task_actions)) == before
    assert len(bridge.bridge_tasks()) == 2


def test_the_command_page_and_api_show_actions(bridge: Bridge, tmp_path: Path) -> None:
    in_force, ids = deliver(bridge)
    path = Path(in_force.settings.config_path)
    other = bridge.config("v2", CALL_BACK + WITHDRAWN_COMPLETES)
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    shown = run_cli(cwd, ["--source", "website", "--config", str(other)], bridge.database_url, path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "acts" in lines[2].split()
    assert any(line.split() == ["call-back", "3", "2", "1", "0", "0"] for line in lines)
    assert any(line.split() == ["withdrawn", "2", "0", "2", "0", "1"] for line in lines)
    assert "    2 x complete" in lines
    assert f"  {ids[3]}  " in shown.stdout
    assert lines[-1].startswith(
        "5 events of website: 2 tasks would be created, 3 actions on earlier tasks, 0 errors; "
        "1 difference from"
    )

    as_json = run_cli(cwd, ["--source", "website", "--json"], bridge.database_url, path)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert {r["rule"]: r["action_counts"] for r in report["rules"]} == {
        "call-back": {"complete": 0, "cancel": 0, "update": 1},
        "withdrawn": {"complete": 0, "cancel": 2, "update": 0},
    }
    assert report["differences"] == []

    settings = Settings(database_url=bridge.database_url, config_path=str(path), admin_token=ADMIN)
    pages = Runtime(settings=settings, config=load_config(path))
    try:
        client = create_app(runtime=pages).test_client()
        api = client.get(
            "/api/backtest?source=website", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert api.status_code == 200
        assert api.get_json()["rules"] == report["rules"]
        basic = base64.b64encode(f"ops:{ADMIN}".encode()).decode()
        page = client.get("/backtest?source=website", headers={"Authorization": f"Basic {basic}"})
        assert page.status_code == 200
        assert "3 actions on earlier tasks" in page.text
        assert "<strong>cancel</strong> the open tasks of call-back" in page.text
        assert "@example.org" not in page.text  # the keys are emails: hidden, as in errors
        assert "2 \N{MULTIPLICATION SIGN} cancel" in page.text
        assert "1 \N{MULTIPLICATION SIGN} update" in page.text
    finally:
        pages.database.dispose()


def test_an_action_of_another_kind_or_none_then() -> None:
    cancel = Verdict("off", "action", action="cancel", tasks_of=("call-back",), key="k")
    assert difference(cancel, Then("action", action="cancel", task_ids=(7,))) is None
    assert difference(cancel, Then("action")) is None  # it found no open task then
    assert difference(cancel, Then("action", action="update", task_ids=(7,))) == (
        "would cancel the open tasks of call-back with key 'k' instead; then it updated task 7"
    )
    assert difference(cancel, Then("task", 9, "Call")) == (
        "would cancel the open tasks of call-back with key 'k'; then task 9 'Call' was created"
    )
    assert difference(Verdict("off", "no_match"), Then("action", action="cancel", task_ids=(7, 8)))
    assert (
        difference(None, Then("action", action="complete", task_ids=(7,), left_alone=1))
        == "not in this config; then it completed task 7 (1 left alone: closed by a person, "
        "or gone)"
    )


def test_the_examples_opportunity_won_then_lost_agrees_with_itself(examples: Examples) -> None:
    """examples/bridge.yaml on the iVvy samples: actions found by owner, not by key."""
    added = examples.post("ivvy", "ivvy-opportunity-added.json")
    won = examples.post("ivvy", "ivvy-opportunity-won.json")
    lost = examples.post("ivvy", "ivvy-opportunity-lost.json")
    engine = examples.runtime.engine
    report = backtest(examples.runtime.config, "ivvy", recent_runs(engine, "ivvy", 10), 10)
    acting = {
        name: (t.matched, t.tasks, dict(+t.actions), t.differences)
        for name, t in report.tallies.items()
        if t.matched
    }
    assert acting == {
        "opportunity-added": (1, 1, {}, 0),
        "opportunity-lost": (1, 0, {"cancel": 1}, 0),
        "proposal-done-when-won": (1, 0, {"complete": 1}, 0),
        "opportunity-won": (1, 1, {}, 0),
    }
    assert report.differences == []
    assert [run["event"] for run in report.runs] == [lost, won, added]
