"""Replay against a real worker and the sandbox: failed rules retried, no task ever twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import delete, select

from bridge.clock import utc_now
from bridge.store.maintenance import dead_jobs, replay, replay_report
from bridge.store.tables import events, jobs, rule_sets
from tests.operations.bridge_under_test import Bridge, days_ago, enquiry, rule
from tests.operations.stored_rows import deliveries_of, event_row, jobs_of

GOOD = rule("website-enquiry")
BROKEN = rule("website-followup", assignee="nobody@venue.example")
FIXED = rule("website-followup", assignee="alex.morgan@venue.example")


def task_names(bridge: Bridge) -> list[str]:
    return sorted(task["name"] for task in bridge.bridge_tasks())


def test_replay_retries_failed_rules_and_never_duplicates_a_task(bridge: Bridge) -> None:
    v1 = bridge.runtime(bridge.config("v1", GOOD + BROKEN))
    event_id = bridge.receive(v1, enquiry(1))
    assert bridge.work(v1) == 1
    assert task_names(bridge) == ["website-enquiry: call Priya"]
    first = {d["rule"]: d for d in deliveries_of(bridge.engine, event_id)}
    assert {rule: d["state"] for rule, d in first.items()} == {
        "website-enquiry": "done",
        "website-followup": "failed",
    }
    assert event_row(bridge.engine, event_id)["state"] == "failed"

    # The same rules again: the broken rule fails again, the done one sends nothing.
    assert replay(bridge.engine, event_ids=[event_id], now=utc_now()) == [event_id]
    assert event_row(bridge.engine, event_id)["state"] == "received"
    assert bridge.work(v1) == 1
    assert task_names(bridge) == ["website-enquiry: call Priya"]

    # The operator fixes the assignee.  Pinned to the rules it first ran with, it still fails...
    v2 = bridge.runtime(bridge.config("v2", GOOD + FIXED))
    assert v2.config.rules_digest != v1.config.rules_digest
    assert replay(bridge.engine, event_ids=[event_id], rules="original", now=utc_now()) == [
        event_id
    ]
    assert jobs_of(bridge.engine, event_id)[-1]["rules_digest"] == v1.config.rules_digest
    assert bridge.work(v2) == 1
    assert task_names(bridge) == ["website-enquiry: call Priya"]

    # ...with the current rules it creates the one missing task, and only that one.
    assert replay(bridge.engine, event_ids=[event_id], rules="current", now=utc_now()) == [event_id]
    assert jobs_of(bridge.engine, event_id)[-1]["rules_digest"] is None
    assert bridge.work(v2) == 1
    assert task_names(bridge) == ["website-enquiry: call Priya", "website-followup: call Priya"]
    after = {d["rule"]: d for d in deliveries_of(bridge.engine, event_id)}
    assert after["website-enquiry"]["task_id"] == first["website-enquiry"]["task_id"]
    assert after["website-followup"]["state"] == "done"
    assert event_row(bridge.engine, event_id)["state"] == "done"
    assert event_row(bridge.engine, event_id)["rules_digest"] == v1.config.rules_digest

    # A done event replayed sends nothing new.
    assert replay(bridge.engine, event_ids=[event_id], now=utc_now()) == [event_id]
    assert bridge.work(v2) == 1
    assert len(bridge.bridge_tasks()) == 2
    states = [job["state"] for job in jobs_of(bridge.engine, event_id)]
    assert len(states) == 5  # one job per run, never two queued at once
    assert states[-2:] == ["done", "done"]
    assert dead_jobs(bridge.engine) == []  # the dead runs before the fix were replayed


def test_a_pinned_replay_is_skipped_when_its_rules_are_gone(bridge: Bridge) -> None:
    v1 = bridge.runtime(bridge.config("v1", GOOD + BROKEN))
    event_id = bridge.receive(v1, enquiry(1))
    bridge.work(v1)
    with bridge.engine.begin() as conn:
        conn.execute(delete(rule_sets))
    report = replay_report(bridge.engine, event_ids=[event_id], rules="original", now=utc_now())
    assert report == {
        "replayed": [],
        "skipped": [
            {"event_id": event_id, "reason": "the rules it first ran with are no longer stored"}
        ],
    }
    assert len(jobs_of(bridge.engine, event_id)) == 1


def test_a_dead_job_is_listed_with_its_reason_and_replays(bridge: Bridge) -> None:
    v1 = bridge.runtime(bridge.config("v1", GOOD, extra="delivery:\n  max_attempts: 1\n"))
    faults = f"{bridge.sandbox.url}/_sandbox/faults"
    requests.post(faults, json={"fail_next": 100, "status": 503}, timeout=5).raise_for_status()
    event_id = bridge.receive(v1, enquiry(1))
    assert bridge.work(v1) == 1

    dead = dead_jobs(bridge.engine)
    assert len(dead) == 1
    entry = dead[0]
    assert entry["event_id"] == event_id
    assert entry["job"] == jobs_of(bridge.engine, event_id)[0]["id"]
    assert (entry["source"], entry["kind"], entry["attempts"]) == ("website", "submission", 1)
    assert entry["reason"].startswith("gave up after 1 attempts")
    assert entry["received_at"] and entry["finished_at"]
    assert dead_jobs(bridge.engine, source="partner") == []
    assert event_row(bridge.engine, event_id)["state"] == "dead"
    assert bridge.bridge_tasks() == []

    requests.delete(faults, timeout=5).raise_for_status()
    assert replay(bridge.engine, state="dead", now=utc_now()) == [event_id]
    assert dead_jobs(bridge.engine) == []  # replayed: history, not work for a person
    assert bridge.work(v1) == 1
    assert task_names(bridge) == ["website-enquiry: call Priya"]
    assert event_row(bridge.engine, event_id)["state"] == "done"


def test_dead_jobs_come_newest_first_and_respect_the_limit(bridge: Bridge) -> None:
    config = bridge.config("v1", GOOD, extra="delivery:\n  max_attempts: 1\n")
    faults = f"{bridge.sandbox.url}/_sandbox/faults"
    requests.post(faults, json={"fail_next": 100}, timeout=5).raise_for_status()
    ids = []
    for number, age in ((1, 3), (2, 2), (3, 1)):
        at_then = bridge.runtime(config, at=days_ago(age))
        ids.append(bridge.receive(at_then, enquiry(number)))
        assert bridge.work(at_then) == 1
    assert [d["event_id"] for d in dead_jobs(bridge.engine)] == ids[::-1]
    assert [d["event_id"] for d in dead_jobs(bridge.engine, limit=2)] == ids[:0:-1]


def test_replay_chooses_events_by_state_source_and_window(bridge: Bridge) -> None:
    config = bridge.config(
        "v1",
        rule("website-enquiry", assignee="nobody@venue.example")
        + rule("partner-enquiry", source="partner", assignee="nobody@venue.example"),
    )
    early = bridge.runtime(config, at=days_ago(3))
    late = bridge.runtime(config, at=days_ago(1))
    website_early = bridge.receive(early, enquiry(1))
    website_late = bridge.receive(late, enquiry(2))
    partner_late = bridge.receive(late, enquiry(3), source="partner")
    assert bridge.work(late) == 3
    engine = bridge.engine

    now = utc_now()
    assert replay(engine, state="failed", source="partner", now=now) == [partner_late]
    assert replay(engine, source="website", since=days_ago(2), now=now) == [website_late]
    report = replay_report(engine, source="website", now=now)
    assert report["replayed"] == [website_early]
    assert report["skipped"] == [
        {"event_id": website_late, "reason": "a job for it is already waiting or running"}
    ]
    assert len(jobs_of(engine, website_late)) == 2  # one replay queued, not two
    assert replay(engine, state="failed", now=now) == []

    assert bridge.work(bridge.runtime(config)) == 3  # replays are due now, not a day ago
    window = {"since": days_ago(4), "until": days_ago(2)}
    dry = replay_report(engine, **window, now=now, dry_run=True)
    assert dry == {"replayed": [website_early], "skipped": []}
    assert len(jobs_of(engine, website_early)) == 2  # the dry run queued nothing
    assert replay(engine, **window, now=now) == [website_early]
    assert len(bridge.bridge_tasks()) == 0


def test_invalid_and_unknown_events_are_skipped_with_a_reason(bridge: Bridge) -> None:
    runtime = bridge.runtime(bridge.config("v1", GOOD))
    status, answer = bridge.post(runtime, b"{not json")
    assert status == 400
    invalid = answer["error"]["event"]
    assert event_row(bridge.engine, invalid)["state"] == "invalid"

    report = replay_report(bridge.engine, event_ids=[invalid, "ev_missing"], now=utc_now())
    assert report["replayed"] == []
    reasons = {item["event_id"]: item["reason"] for item in report["skipped"]}
    assert reasons == {
        "ev_missing": "no such event matches",
        invalid: "the delivery could not be parsed, so there is nothing to replay",
    }
    assert replay(bridge.engine, state="invalid", now=utc_now()) == []
    assert jobs_of(bridge.engine, invalid) == []


def test_replay_needs_a_selection_and_known_rules(bridge: Bridge) -> None:
    bridge.runtime(bridge.config("v1", GOOD))
    with pytest.raises(ValueError, match="choose events"):
        replay(bridge.engine, now=utc_now())
    bad: Any = "newest"
    with pytest.raises(ValueError, match="rules must be"):
        replay(bridge.engine, state="failed", rules=bad, now=utc_now())
    with bridge.engine.connect() as conn:
        assert conn.execute(select(events.c.id)).all() == []
        assert conn.execute(select(jobs.c.id)).all() == []


def test_concurrent_replays_of_one_event_queue_one_job(bridge: Bridge) -> None:
    runtime = bridge.runtime(bridge.config("v1", GOOD + BROKEN))
    event_id = bridge.receive(runtime, enquiry(1))
    assert bridge.work(runtime) == 1
    start = threading.Barrier(8)

    def replay_once() -> list[str]:
        start.wait()
        return replay(bridge.engine, event_ids=[event_id], now=utc_now())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: replay_once(), range(8)))
    assert sorted(results) == [[]] * 7 + [[event_id]]
    assert [job["state"] for job in jobs_of(bridge.engine, event_id)][1:] == ["ready"]
