"""Pruning by the config's retention: what goes, what stays, and dedupe keys outliving events."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from bridge.clock import utc_now
from bridge.config.sections import RetentionSettings
from bridge.housekeeping import start_pruning
from bridge.store.circuit_log import record_closed, record_opened
from bridge.store.history import SPANS, load_history
from bridge.store.maintenance import prune, replay_event
from bridge.store.pruning import TABLES, delete_events, old_events
from bridge.store.tables import attempts, circuit_periods, dedupe_keys, deliveries, events, jobs
from tests.operations.bridge_under_test import Bridge, days_ago, enquiry, rule
from tests.operations.stored_rows import jobs_of

HOUR = timedelta(hours=1)
RETENTION = """
retention:
  events_days: 30
  jobs_days: 7
  dedupe_days: 60
"""
NOTHING = {
    "events": 0,
    "deliveries": 0,
    "jobs": 0,
    "attempts": 0,
    "dedupe_keys": 0,
    "circuit_periods": 0,
}


def test_prune_deletes_what_retention_says_in_batches(bridge: Bridge) -> None:
    config = bridge.config("v1", rule("website-enquiry"), extra=RETENTION)
    ages = {"ancient": 40, "middle": 10, "recent": 1}
    ids = {}
    for number, (name, age) in enumerate(ages.items(), 1):
        then = bridge.runtime(config, at=days_ago(age))
        ids[name] = bridge.receive(then, enquiry(number))
        assert bridge.work(then) == 1
    # Received 40 days ago but never run: its job still waits, so it stays.
    ids["waiting"] = bridge.receive(bridge.runtime(config, at=days_ago(40)), enquiry(4))
    retention = bridge.runtime(config).config.retention
    assert retention == RetentionSettings(events_days=30, jobs_days=7, dedupe_days=60)

    ancient_job, middle_job = (
        jobs_of(bridge.engine, ids[n])[0]["id"] for n in ("ancient", "middle")
    )
    calls = bridge.count(attempts, attempts.c.job_id.in_([ancient_job, middle_job]))
    assert calls >= 2  # every run recorded its iVvy calls
    expected = {**NOTHING, "events": 1, "deliveries": 1, "jobs": 2, "attempts": calls}

    now = utc_now()
    assert prune(bridge.engine, retention, now=now, dry_run=True) == expected
    assert bridge.count(events) == 4
    assert prune(bridge.engine, retention, now=now, batch_size=1) == expected

    assert bridge.count(events, events.c.id == ids["ancient"]) == 0
    assert bridge.count(deliveries, deliveries.c.event_id == ids["ancient"]) == 0
    assert bridge.count(attempts, attempts.c.event_id == ids["ancient"]) == 0
    assert bridge.count(events, events.c.id == ids["middle"]) == 1  # its job went, it stays
    assert jobs_of(bridge.engine, ids["middle"]) == []
    assert [j["state"] for j in jobs_of(bridge.engine, ids["waiting"])] == ["ready"]
    assert [j["state"] for j in jobs_of(bridge.engine, ids["recent"])] == ["done"]
    assert bridge.count(dedupe_keys) == 4
    assert prune(bridge.engine, retention, now=now) == NOTHING


def test_an_event_replayed_after_prune_chose_it_stays_with_its_new_job(bridge: Bridge) -> None:
    """Candidates are read before the write transaction; the delete looks at their jobs again."""
    config = bridge.config("v1", rule("website-enquiry"), extra=RETENTION)
    then = bridge.runtime(config, at=days_ago(40))
    replayed, other = bridge.receive(then, enquiry(1)), bridge.receive(then, enquiry(2))
    assert bridge.work(then) == 2
    with bridge.engine.connect() as conn:
        candidates = list(conn.scalars(old_events(days_ago(30))))
    assert sorted(candidates) == sorted([replayed, other])

    replay_event(bridge.engine, replayed, now=utc_now())  # between the read and the delete
    counts = dict.fromkeys(TABLES, 0)
    with bridge.engine.begin() as conn:
        delete_events(conn, candidates, counts)
    assert (counts["events"], counts["deliveries"], counts["jobs"]) == (1, 1, 1)
    assert bridge.count(events, events.c.id == other) == 0
    assert bridge.count(events, events.c.id == replayed) == 1
    assert [j["state"] for j in jobs_of(bridge.engine, replayed)] == ["done", "ready"]
    assert bridge.count(deliveries, deliveries.c.event_id == replayed) == 1
    # Once its new job has run, the next prune takes it.
    assert bridge.work(bridge.runtime(config)) == 1
    retention = bridge.runtime(config).config.retention
    assert prune(bridge.engine, retention, now=utc_now())["events"] == 1
    assert bridge.count(events) == 0


def test_a_late_retry_of_a_pruned_event_is_still_a_duplicate(bridge: Bridge) -> None:
    config = bridge.config("v1", rule("website-enquiry"), extra=RETENTION)
    then = bridge.runtime(config, at=days_ago(40))
    first = bridge.receive(then, enquiry(1))
    assert bridge.work(then) == 1
    retention = then.config.retention

    now = utc_now()
    pruned = prune(bridge.engine, retention, now=now)
    assert (pruned["events"], pruned["dedupe_keys"]) == (1, 0)
    assert bridge.count(events) == 0

    current = bridge.runtime(config)
    status, answer = bridge.post(current, enquiry(1))
    assert (status, answer) == (200, {"event": first, "duplicate": True})
    assert bridge.count(jobs) == 0
    assert bridge.work(current) == 0
    assert len(bridge.bridge_tasks()) == 1

    # Once the key's own retention has passed, the sender's id is new again.
    assert prune(bridge.engine, retention, now=now + timedelta(days=21))["dedupe_keys"] == 1
    status, answer = bridge.post(current, enquiry(1))
    assert status == 202
    assert answer["event"] != first


def test_a_dedupe_key_never_goes_before_its_event(bridge: Bridge) -> None:
    config = bridge.config("v1", rule("website-enquiry"))
    then = bridge.runtime(config, at=days_ago(40))
    event_id = bridge.receive(then, enquiry(1))
    assert bridge.work(then) == 1
    keep_events = RetentionSettings(events_days=90, jobs_days=7, dedupe_days=7)

    assert prune(bridge.engine, keep_events, now=utc_now(), dry_run=True)["dedupe_keys"] == 0
    assert prune(bridge.engine, keep_events, now=utc_now())["dedupe_keys"] == 0
    status, answer = bridge.post(bridge.runtime(config), enquiry(1))
    assert (status, answer) == (200, {"event": event_id, "duplicate": True})

    # The event and its key going in one prune are counted alike by the dry run.
    short = RetentionSettings(events_days=30, jobs_days=7, dedupe_days=7)
    expected = prune(bridge.engine, short, now=utc_now(), dry_run=True)
    assert (expected["events"], expected["dedupe_keys"]) == (1, 1)
    assert prune(bridge.engine, short, now=utc_now()) == expected


def test_circuit_periods_go_with_events_but_never_out_of_the_7_day_picture(
    bridge: Bridge,
) -> None:
    """The overview marks the circuit's open periods; prune keeps those it can still draw."""
    bridge.runtime(bridge.config("v1", rule("website-enquiry")))  # migrates the database
    now = utc_now()
    ended = {}  # name: period id, each open for an hour, ending this many days ago
    for name, days in {"40d": 40, "20d": 20, "8d": 8, "6d": 6}.items():
        ended[name] = record_opened(bridge.engine, "w1", days_ago(days, now=now) - HOUR)
        record_closed(bridge.engine, ended[name], days_ago(days, now=now))
    still_open = record_opened(bridge.engine, "w2", days_ago(50, now=now))

    def left() -> set[int]:
        with bridge.engine.connect() as conn:
            return set(conn.scalars(select(circuit_periods.c.id)))

    # Kept as long as events ...
    thirty = RetentionSettings(events_days=30, jobs_days=7, dedupe_days=30)
    assert prune(bridge.engine, thirty, now=now, dry_run=True)["circuit_periods"] == 1
    assert prune(bridge.engine, thirty, now=now, batch_size=1)["circuit_periods"] == 1
    assert left() == {ended["20d"], ended["8d"], ended["6d"], still_open}

    # ... but never fewer days than the 7-day picture spans; an open period always stays.
    one = RetentionSettings(events_days=1, jobs_days=1, dedupe_days=7)
    assert prune(bridge.engine, one, now=now, dry_run=True)["circuit_periods"] == 2
    assert prune(bridge.engine, one, now=now)["circuit_periods"] == 2
    assert left() == {ended["6d"], still_open}
    drawn = load_history(bridge.engine, now=now, hours=SPANS["7d"]).circuit
    assert [(worker, end is None) for _, end, worker in drawn] == [("w2", True), ("w1", False)]
    assert prune(bridge.engine, one, now=now) == NOTHING


def test_the_worker_prunes_on_its_own_timer(bridge: Bridge) -> None:
    config = bridge.config("v1", rule("website-enquiry"), extra=RETENTION)
    then = bridge.runtime(config, at=days_ago(40))
    old = bridge.receive(then, enquiry(1))
    assert bridge.work(then) == 1
    stopping = threading.Event()
    thread = start_pruning(bridge.runtime(config), stopping, interval=0.05, first_delay=0.0)
    try:
        deadline = time.monotonic() + 20
        while bridge.count(events, events.c.id == old) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stopping.set()
        thread.join(5)
    assert bridge.count(events, events.c.id == old) == 0
    assert not thread.is_alive()
