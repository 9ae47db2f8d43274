"""``bridge dead``, ``bridge replay`` and ``bridge prune``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from bridge.cli import main
from bridge.store.tables import events
from tests.operations.bridge_under_test import Bridge, days_ago, enquiry, rule
from tests.operations.stored_rows import jobs_of

ONE_ATTEMPT = "delivery:\n  max_attempts: 1\n"
RETENTION = "retention:\n  events_days: 30\n  jobs_days: 7\n  dedupe_days: 60\n"


def dead_event(bridge: Bridge, config: Path) -> str:
    """An event whose only job died: iVvy answered 503 and one attempt was allowed."""
    faults = f"{bridge.sandbox.url}/_sandbox/faults"
    requests.post(faults, json={"fail_next": 100}, timeout=5).raise_for_status()
    runtime = bridge.runtime(config)
    event_id = bridge.receive(runtime, enquiry(1))
    assert bridge.work(runtime) == 1
    requests.delete(faults, timeout=5).raise_for_status()
    return event_id


def test_dead_lists_reasons_and_replay_brings_them_back(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = bridge.config("v1", rule("website-enquiry"), extra=ONE_ATTEMPT)
    monkeypatch.setenv("BRIDGE_CONFIG", str(config))
    event_id = dead_event(bridge, config)
    capsys.readouterr()  # the app's and worker's logs

    assert main(["dead"]) == 0
    out = capsys.readouterr().out
    assert event_id in out
    assert "gave up after 1 attempts" in out
    assert out.rstrip().endswith("1 dead job")
    assert main(["dead", "--json", "--source", "website", "--limit", "5"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["event_id"], d["source"]) for d in listed] == [(event_id, "website")]
    assert main(["dead", "--source", "partner"]) == 0
    assert capsys.readouterr().out == "no dead jobs\n"

    assert main(["replay", "--state", "dead", "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        f"would replay {event_id}\n1 event would be replayed, with the current rules\n"
    )
    assert len(jobs_of(bridge.engine, event_id)) == 1

    assert main(["replay", "--state", "dead", "--source", "website", "--rules", "original"]) == 0
    assert capsys.readouterr().out == (
        f"replayed {event_id}\n1 event replayed, with the rules each first ran with\n"
    )
    runtime = bridge.runtime(config)
    assert jobs_of(bridge.engine, event_id)[-1]["rules_digest"] == runtime.config.rules_digest
    assert bridge.work(runtime) == 1
    assert len(bridge.bridge_tasks()) == 1
    capsys.readouterr()
    assert main(["dead"]) == 0
    assert capsys.readouterr().out == "no dead jobs\n"


def test_replay_exit_codes(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = bridge.config("v1", rule("website-enquiry"))
    monkeypatch.setenv("BRIDGE_CONFIG", str(config))
    event_id = bridge.receive(bridge.runtime(config), enquiry(1))
    capsys.readouterr()

    assert main(["replay", "ev_missing", event_id]) == 1
    out = capsys.readouterr().out
    assert "skipped ev_missing: no such event matches" in out
    assert f"skipped {event_id}: a job for it is already waiting or running" in out
    assert out.rstrip().endswith("0 events replayed, with the current rules")

    assert main(["replay"]) == 2
    assert "EVENT_ID" in capsys.readouterr().err
    assert main(["replay", event_id, "--state", "dead"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["replay", "--since", "yesterday"]) == 2
    assert "--since is not an ISO 8601 time" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["replay", "--state", "received"])
    assert refused.value.code == 2
    capsys.readouterr()

    assert main(["replay", "--source", "website", "--until", "2020-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"replayed": [], "skipped": [], "dry_run": False}


def test_prune_applies_the_configs_retention(
    bridge: Bridge,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    config = bridge.config("v1", rule("website-enquiry"), extra=RETENTION)
    monkeypatch.setenv("BRIDGE_CONFIG", str(config))
    then = bridge.runtime(config, at=days_ago(40))
    bridge.receive(then, enquiry(1))
    assert bridge.work(then) == 1
    capsys.readouterr()

    assert main(["prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would delete 1 events, would delete 1 deliveries, would delete 1 jobs")
    assert bridge.count(events) == 1

    assert main(["prune", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["events"] == 1
    assert counts["dedupe_keys"] == 0
    assert counts["dry_run"] is False
    assert bridge.count(events) == 0

    broken = tmp_path / "broken.yaml"
    broken.write_text("retention:\n  dedupe_days: 2\n")
    monkeypatch.setenv("BRIDGE_CONFIG", str(broken))
    assert main(["prune"]) == 1
    assert str(broken) in capsys.readouterr().err
