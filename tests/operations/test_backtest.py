"""Backtest over stored events: events ingested through the app, delivered by a real worker
to the sandbox iVvy, then a changed config tried on them (nothing sent, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.backtest import Report, backtest
from bridge.backtest.compare import Then, difference
from bridge.backtest.verdicts import Verdict
from bridge.evaluation import preview
from bridge.store import page_queries
from bridge.store.backtest_reads import recent_runs
from bridge.store.tables import attempts, deliveries, events, jobs
from tests.operations.bridge_under_test import Bridge, enquiry, rule

REPO = Path(__file__).resolve().parents[2]

WEDDING = """
  - name: wedding
    on: {source: website}
    when: {field: answers.event_type, in: [wedding]}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Wedding: call {{ first_name }}"
      due: "+1 business day at 09:00"
"""
WEDDING_OR_CONFERENCE = WEDDING.replace("in: [wedding]", "in: [wedding, conference]")
# Reads a name no enquiry has: a warning on each event it matches.
WITH_A_TYPO = WEDDING_OR_CONFERENCE.replace(
    '      due: "+1', '      description: "For {{ mesage }}"\n      due: "+1'
)
# The task's name changes: every task it made would now differ.
RENAMED = rule("website-enquiry").replace('"website-enquiry: call', '"website-enquiry: phone')
# The lead id renders empty on every event: an error on each.
LEAD_BY_ID = """
  - name: lead-by-id
    on: {source: website}
    lead: {id: "{{ answers.lead_id }}"}
    task:
      name: "Follow the lead of {{ first_name }}"
      due: "+1 day at 09:00"
"""
BROKEN = rule("followup", assignee="nobody@venue.example")
KINDS = ["wedding", "conference", "birthday", "wedding"]


def ingest_and_deliver(bridge: Bridge) -> tuple[Any, list[str]]:
    """Four enquiries through /hooks/website, delivered against the sandbox by a worker."""
    in_force = bridge.runtime(bridge.config("v1", rule("website-enquiry") + WEDDING + BROKEN))
    ids = []
    for number, kind in enumerate(KINDS, 1):
        ids.append(bridge.receive(in_force, {**enquiry(number), "event_type": kind}))
        assert bridge.work(in_force) == 1
    return in_force, ids


def counts(report: Report) -> dict[str, tuple[int, int, int, int]]:
    return {
        name: (t.matched, t.tasks, sum(t.errors.values()), t.differences)
        for name, t in report.tallies.items()
    }


def rows(bridge: Bridge) -> dict[str, int]:
    return {table.name: bridge.count(table) for table in (events, jobs, deliveries, attempts)}


def test_a_changed_config_counted_per_rule_and_set_against_what_happened(
    bridge: Bridge,
) -> None:
    in_force, ids = ingest_and_deliver(bridge)
    tasks_before = len(bridge.bridge_tasks())
    assert tasks_before == 4 + 2  # website-enquiry on each, wedding on two; followup failed

    # The config in force agrees with the past, except the failure only delivery can see.
    same = backtest(in_force.config, "website", recent_runs(bridge.engine, "website", 50), 50)
    assert counts(same) == {
        "website-enquiry": (4, 4, 0, 0),
        "wedding": (2, 2, 0, 0),
        "followup": (4, 4, 0, 4),  # the unknown assignee is found by delivery only
    }
    assert all("then it failed" in d.summary for d in same.differences)

    changed = bridge.runtime(bridge.config("v2", RENAMED + WITH_A_TYPO + LEAD_BY_ID)).config
    before = rows(bridge)
    report = backtest(changed, "website", recent_runs(bridge.engine, "website", 50), 50)
    assert counts(report) == {
        "website-enquiry": (4, 4, 0, 4),
        "wedding": (3, 3, 0, 1),
        "lead-by-id": (4, 0, 4, 4),
    }
    assert report.evaluated == 4 and report.invalid == 0 and report.unsettled == 0
    by_rule: dict[str, list[str]] = {}
    for found in report.differences:
        by_rule.setdefault(found.rule, []).append(found.summary)
    assert len(by_rule["followup"]) == 4  # gone from the new config; it had failed then
    assert all(s.startswith("not in this config; then it failed") for s in by_rule["followup"])
    renamed = by_rule["website-enquiry"][0]
    assert "name 'website-enquiry: call Priya' then, 'website-enquiry: phone Priya' now" in renamed
    assert by_rule["wedding"] == ["would create 'Wedding: call Priya'; then it did not match"]
    conference = next(d for d in report.differences if d.rule == "wedding")
    assert conference.event_id == ids[1]
    assert all("rendered empty" in s and "did not match" in s for s in by_rule["lead-by-id"])
    assert report.tallies["lead-by-id"].errors.most_common(1)[0][1] == 4
    [(warning, times)] = report.tallies["wedding"].warnings.most_common()
    assert times == 3 and warning.startswith("mesage: not in this event") and "message" in warning
    assert report.to_json()["rules"][1]["warning_counts"] == [{"warning": warning, "count": 3}]

    # The last N: the newest events only.
    newest = backtest(changed, "website", recent_runs(bridge.engine, "website", 2), 2)
    assert [run["event"] for run in newest.runs] == [ids[3], ids[2]]
    assert counts(newest)["wedding"] == (1, 1, 0, 0)

    # Nothing was sent and nothing was written.
    assert len(bridge.bridge_tasks()) == tasks_before
    assert rows(bridge) == before


def run_cli(
    cwd: Path, args: list[str], database_url: str, config: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BRIDGE_CONFIG")}
    env.update(DATABASE_URL=database_url, BRIDGE_CONFIG=str(config), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "backtest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_reports_per_rule_and_the_differences(bridge: Bridge, tmp_path: Path) -> None:
    in_force, ids = ingest_and_deliver(bridge)
    other = bridge.config("v2", RENAMED + WEDDING_OR_CONFERENCE)
    in_force_path = Path(in_force.settings.config_path)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = rows(bridge)

    shown = run_cli(
        cwd,
        ["--source", "website", "--last", "3", "--config", str(other)],
        bridge.database_url,
        in_force_path,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split() == ["website-enquiry", "3", "3", "0", "3"] for line in lines)
    assert any(line.split() == ["wedding", "2", "2", "0", "1"] for line in lines)
    assert f"  {ids[1]}  " in shown.stdout  # the conference enquiry, now a wedding task
    assert lines[-1].startswith("3 events of website: 5 tasks would be created, 0 errors; ")

    # Without --config: the file in force (BRIDGE_CONFIG), as serve reads it; as JSON.
    as_json = run_cli(cwd, ["--source", "website", "--json"], bridge.database_url, in_force_path)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["events"] == 4
    assert {r["rule"]: r["tasks"] for r in report["rules"]} == {
        "website-enquiry": 4,
        "wedding": 2,
        "followup": 4,
    }
    assert {d["rule"] for d in report["differences"]} == {"followup"}

    # A rule that would fail: exit 1, the report still printed.
    failing = bridge.config("v3", LEAD_BY_ID)
    erred = run_cli(
        cwd, ["--source", "website", "--config", str(failing)], bridge.database_url, in_force_path
    )
    assert erred.returncode == 1
    assert "lead-by-id" in erred.stdout and "4 errors" in erred.stdout

    # Failures are one line.
    unknown = run_cli(cwd, ["--source", "nope"], bridge.database_url, in_force_path)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.strip().splitlines() == [
        f"bridge backtest: no source named 'nope' in {in_force_path} (configured: partner, website)"
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    bad = run_cli(
        cwd, ["--source", "website", "--config", str(broken)], bridge.database_url, in_force_path
    )
    assert bad.returncode == 1
    assert (
        bad.stderr.startswith(f"bridge backtest: {broken}:") and len(bad.stderr.splitlines()) == 1
    )

    assert rows(bridge) == before
    assert list(cwd.iterdir()) == []


def test_backtest_and_preview_give_the_same_verdicts(bridge: Bridge) -> None:
    ingest_and_deliver(bridge)
    changed = bridge.runtime(
        bridge.config("v2", RENAMED + WEDDING_OR_CONFERENCE + LEAD_BY_ID)
    ).config
    report = backtest(changed, "website", recent_runs(bridge.engine, "website", 50), 50)
    for run in report.runs:
        stored = page_queries.stored_body(bridge.engine, run["event"])
        assert stored is not None
        arrived = datetime.fromisoformat(run["received_at"])
        previewed = preview(changed, "website", stored.body, stored.content_type, arrived)
        expected = [
            {"rule": r["rule"], "verdict": "error", "error": r["error"]}
            if r["error"]
            else {
                "rule": r["rule"],
                "verdict": "task",
                "task": r["task"]["name"],
                "due_utc": r["task"]["due_utc"],
            }
            for r in previewed["rules"]
            if r["matched"]
        ]
        assert run["rules"] == expected
    assert {v["verdict"] for run in report.runs for v in run["rules"]} == {"task", "error"}


def test_invalid_and_unsettled_events_are_counted_not_compared(bridge: Bridge) -> None:
    in_force, _ = ingest_and_deliver(bridge)
    status, _ = bridge.post(in_force, b'{"not": json')
    assert status == 400  # kept as an invalid event
    waiting = bridge.receive(in_force, {**enquiry(9), "event_type": "wedding"})  # no worker yet
    report = backtest(in_force.config, "website", recent_runs(bridge.engine, "website", 50), 50)
    assert (report.invalid, report.unsettled, report.evaluated) == (1, 1, 5)
    assert report.runs[0]["event"] == waiting and report.runs[0]["state"] == "received"
    assert waiting not in {d.event_id for d in report.differences}
    assert counts(report)["wedding"] == (3, 3, 0, 0)
    assert report.summary.endswith("(1 invalid, 1 not settled, not compared)")


def test_the_readme_command_runs_as_written(bridge: Bridge, tmp_path: Path) -> None:
    ingest_and_deliver(bridge)
    section = (REPO / "README.md").read_text().split("### Backtest\n", 1)[1].split("\n## ", 1)[0]
    [command] = [line for line in section.splitlines() if line.startswith("bridge backtest ")]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BRIDGE_CONFIG")}
    env.update(
        DATABASE_URL=bridge.database_url,
        PYTHONPATH=str(REPO),
        IVVY_API_KEY="key",
        IVVY_API_SECRET="secret",
        WEBSITE_FORM_TOKEN="token",
        TYPEFORM_SECRET="secret",
        CALENDLY_SIGNING_KEY="key",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *command.split()[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == ""
    assert done.stdout.startswith("backtest of website: the last 50 events, rules of examples/")
    assert done.stdout.splitlines()[-1].startswith("4 events of website: ")


def test_an_error_stored_in_older_words_is_the_same_error() -> None:
    now = Verdict("opp", "error", error="the opportunity id rendered empty")
    assert (
        difference(now, Then("error", error="rule opp: the opportunity id rendered empty")) is None
    )
    other = Then("error", error="rule opp: the venue id rendered empty")
    assert difference(now, other) == (
        "would fail: the opportunity id rendered empty; then it failed: rule opp: the venue id "
        "rendered empty"
    )
    assert difference(None, Then("no_match")) is None
    assert difference(now, Then("pending")) is None
