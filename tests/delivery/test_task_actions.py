"""Actions on earlier tasks, end to end: a real database (SQLite and PostgreSQL), the sandbox iVvy
over HTTP, a worker stepped by the test.  Complete, cancel and update by key and by owner; a
task a person closed is left alone; a task the bridge did not make is never touched; lost
answers and replays apply each action once; update_open updates the key's open task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.events import Event
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.inbox import accept
from bridge.store.maintenance import replay_event
from tests.delivery.harness import Bench, make_bench

RULES = """
  - name: booking
    on: {source: website, kind: booked}
    company: {id: 1}
    task:
      name: "Confirm final numbers for {{ data.name }}"
      description: "Booking {{ data.id }}"
      due: "+7 days at 09:00"
      key: "booking-{{ data.id }}"
  - name: proposal
    on: {source: website, kind: opportunity}
    opportunity: {id: 2, venue: 1}
    task:
      name: "Send a proposal"
      due: "+2 days at 10:00"
  - name: booking-cancelled
    on: {source: website, kind: cancelled}
    cancel:
      tasks_of: booking
      key: "booking-{{ data.id }}"
      append: "Cancelled: the booking was cancelled."
  - name: won
    on: {source: website, kind: won}
    opportunity: {id: 2, venue: 1}
    complete: {tasks_of: proposal}
  - name: moved
    on: {source: website, kind: moved}
    update:
      tasks_of: booking
      key: "booking-{{ data.id }}"
      due: "+3 days at 15:00"
      priority: high
      assignee: alex.morgan@venue.example
      append: "Moved to {{ data.room }}."
  - name: call-back
    on: {source: website, kind: form}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Call {{ first_name }} back"
      description: "{{ message }}"
      due: "+1 day at 09:00"
      key: "{{ email }}"
      update_open: {within_days: 7, append: "Asked again: {{ message }}"}
"""

_SEQUENCE = iter(range(10_000_000))


def post(bench: Bench, kind: str, data: dict[str, Any] | None = None, **fields: str) -> str:
    """Store an event of ``kind`` with its job, as the ingest route does; its id."""
    n = next(_SEQUENCE)
    event = Event(
        source="website",
        source_type="form",
        kind=kind,
        external_id=f"{kind}-{n}",
        received_at=bench.clock(),
        fields=fields,
        data=data or {},
    )
    result = accept(
        bench.engine, event, f"{kind}-{n}", headers={}, body=b"{}",
        content_type="application/json", now=bench.clock(),
    )  # fmt: skip
    return result.event_id


def client(bench: Bench) -> IvvyClient:
    """Someone working in iVvy with the account's own key."""
    return IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=bench.sandbox.url)


def task(bench: Bench, task_id: int) -> dict[str, Any]:
    (found,) = [t for t in bench.listing("tasks") if t["id"] == task_id]
    return found


def delivered(bench: Bench, event_id: str) -> Any:
    (row,) = bench.rows("SELECT * FROM deliveries WHERE event_id = :e", e=event_id)
    return row


def actions(bench: Bench, event_id: str) -> list[Any]:
    return bench.rows(
        "SELECT task_id, action, state, error, status_before FROM task_actions "
        "WHERE event_id = :e ORDER BY task_id",
        e=event_id,
    )


@pytest.fixture
def bench(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> Bench:
    return make_bench(tmp_path, sandbox, database_url, rules=RULES)


def run(bench: Bench) -> int:
    return bench.worker().run_pending()


def test_a_cancelled_booking_cancels_its_task_by_key_and_leaves_others(bench: Bench) -> None:
    first = post(bench, "booked", {"id": 7, "name": "Gala"})
    other = post(bench, "booked", {"id": 8, "name": "Dinner"})
    run(bench)
    created = delivered(bench, first)["task_id"]
    untouched = delivered(bench, other)["task_id"]
    cancel = post(bench, "cancelled", {"id": 7})
    assert run(bench) == 1

    assert task(bench, created)["status"] == 3
    assert (
        task(bench, created)["description"]
        .splitlines()[-1]
        .startswith("Cancelled: the booking was cancelled. [bridge ")
    )
    assert task(bench, untouched)["status"] == 0
    row = delivered(bench, cancel)
    assert (row["state"], row["task_id"]) == ("acted", None)
    assert [dict(a) for a in actions(bench, cancel)] == [
        {"task_id": created, "action": "cancel", "state": "done", "error": None, "status_before": 0}
    ]
    assert delivered(bench, first)["task_status"] == 3
    assert bench.job(cancel)["state"] == "done"

    # Cancelled again (iVvy sends the change twice): nothing open, nothing sent.
    sent = len(bench.calls("addOrUpdateTask"))
    again = post(bench, "cancelled", {"id": 7})
    run(bench)
    assert delivered(bench, again)["state"] == "acted" and actions(bench, again) == []
    assert len(bench.calls("addOrUpdateTask")) == sent


def test_an_opportunity_won_completes_its_proposal_task_by_owner(bench: Bench) -> None:
    proposal = post(bench, "opportunity")
    run(bench)
    task_id = delivered(bench, proposal)["task_id"]
    won = post(bench, "won")
    run(bench)
    assert task(bench, task_id)["status"] == 4
    (action,) = actions(bench, won)
    assert (action["action"], action["state"]) == ("complete", "done")
    # The opportunity's task was read and updated under its venue.
    (sent,) = bench.rows("SELECT body FROM task_actions WHERE event_id = :e", e=won)
    body = json.loads(sent["body"]) if isinstance(sent["body"], str) else sent["body"]
    assert body == {"id": task_id, "venueId": 1, "status": 4}
    assert len(bench.calls("addOrUpdateTask")) == 2


def test_an_update_changes_due_priority_assignee_and_appends_a_line(bench: Bench) -> None:
    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    task_id = delivered(bench, booked)["task_id"]
    bench.clock.advance(3600)
    moved = post(bench, "moved", {"id": 7, "room": "the Harbour Room"})
    run(bench)
    assert delivered(bench, moved)["state"] == "acted"
    now = task(bench, task_id)
    assert (now["priority"], now["assignedUserId"], now["status"]) == ("high", 3, 0)
    # 15:00 in Sydney: 04:00 UTC in summer (AEDT), 05:00 in winter (AEST).
    assert now["endDatetime"][11:] in ("04:00:00 UTC", "05:00:00 UTC")
    lines = now["description"].splitlines()
    assert lines[0] == "Booking 7" and lines[-1].startswith("Moved to the Harbour Room. [bridge ")
    assert sum("Moved to" in line for line in lines) == 1


def test_a_task_a_person_completed_is_left_alone(bench: Bench) -> None:
    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    task_id = delivered(bench, booked)["task_id"]
    with client(bench) as person:
        person.add_or_update_task({"id": task_id, "status": 4})
    cancel = post(bench, "cancelled", {"id": 7})
    run(bench)
    assert task(bench, task_id)["status"] == 4
    (action,) = actions(bench, cancel)
    assert (action["state"], action["error"]) == ("skipped", "left alone: completed in iVvy")
    assert delivered(bench, booked)["task_status"] == 4  # remembered: not read again
    assert len(bench.calls("addOrUpdateTask")) == 2  # the creation and the person's


def test_a_task_the_bridge_did_not_make_is_never_touched(bench: Bench) -> None:
    with client(bench) as person:
        theirs = person.add_or_update_task(
            {"name": "Their own", "endDatetime": "2030-01-01 00:00:00", "leadId": 2, "venueId": 1}
        )
    before = task(bench, theirs)
    proposal = post(bench, "opportunity")
    run(bench)
    ours = delivered(bench, proposal)["task_id"]
    won = post(bench, "won")
    run(bench)
    assert task(bench, ours)["status"] == 4
    assert task(bench, theirs) == before
    assert [a["task_id"] for a in actions(bench, won)] == [ours]


def test_a_lost_answer_to_a_cancel_is_not_sent_again(bench: Bench) -> None:
    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    task_id = delivered(bench, booked)["task_id"]
    cancel = post(bench, "cancelled", {"id": 7})
    bench.drop_call(2)  # getTaskList answers; addOrUpdateTask is made, its answer lost
    worker = bench.worker()
    assert worker.run_pending() == 1
    assert bench.job(cancel)["state"] == "ready"  # retried
    assert [dict(a)["state"] for a in actions(bench, cancel)] == ["sending"]
    bench.clear_faults()
    bench.clock.advance(3600)
    assert worker.run_pending() == 1
    assert [dict(a)["state"] for a in actions(bench, cancel)] == ["done"]
    # The creation and the one cancel: read again, found cancelled with this event's line.
    assert len(bench.calls("addOrUpdateTask")) == 2
    assert task(bench, task_id)["description"].count("Cancelled:") == 1


def test_a_lost_answer_to_an_update_appends_its_line_once(bench: Bench) -> None:
    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    task_id = delivered(bench, booked)["task_id"]
    moved = post(bench, "moved", {"id": 7, "room": "the Harbour Room"})
    bench.drop_call(3)  # getTaskList, getUserList (the assignee), then addOrUpdateTask
    worker = bench.worker()
    worker.run_pending()
    bench.clear_faults()
    bench.clock.advance(3600)
    worker.run_pending()
    assert bench.job(moved)["state"] == "done"
    assert task(bench, task_id)["description"].count("Moved to the Harbour Room.") == 1


def test_a_replayed_action_applies_nothing_twice(bench: Bench) -> None:
    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    cancel = post(bench, "cancelled", {"id": 7})
    run(bench)
    sent = len(bench.calls("addOrUpdateTask"))
    for event_id in (cancel, booked):
        replay_event(bench.engine, event_id, now=bench.clock())
    run(bench)
    assert len(bench.calls("addOrUpdateTask")) == sent
    assert len(bench.listing("tasks")) == 1


def test_a_form_sent_again_within_seven_days_updates_the_open_call_back_task(
    bench: Bench,
) -> None:
    first = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="A wedding for 80")  # fmt: skip
    run(bench)
    task_id = delivered(bench, first)["task_id"]
    bench.clock.advance(2 * 86_400)
    again = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="Now 120 guests")  # fmt: skip
    run(bench)
    assert len(bench.listing("tasks")) == 1
    row = delivered(bench, again)
    assert (row["state"], row["task_id"], row["open_task_of"]) == (
        "acted", task_id, delivered(bench, first)["id"],
    )  # fmt: skip
    updated = task(bench, task_id)
    assert updated["description"].splitlines()[-1].startswith("Asked again: Now 120 guests [bridge")
    created = delivered(bench, first)["task"]
    first_due = (json.loads(created) if isinstance(created, str) else created)["endDatetime"]
    assert updated["endDatetime"].removesuffix(" UTC") > first_due  # due again from the new event

    # A person completes it: the next form makes a new task, which later ones update.
    with client(bench) as person:
        person.add_or_update_task({"id": task_id, "status": 4})
    bench.clock.advance(86_400)
    third = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="Still keen")  # fmt: skip
    run(bench)
    assert len(bench.listing("tasks")) == 2
    assert delivered(bench, third)["state"] == "done"
    assert (
        task(bench, task_id)["status"] == 4
        and "Still keen" not in task(bench, task_id)["description"]
    )

    # Eight days later the key's task is too old to update: a new one.
    bench.clock.advance(8 * 86_400)
    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="Hi")
    run(bench)
    assert len(bench.listing("tasks")) == 3


def test_the_key_of_another_email_makes_its_own_task(bench: Bench) -> None:
    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="a")
    post(bench, "form", email="bo@example.org", first_name="Bo", last_name="Ng", message="b")
    run(bench)
    assert len(bench.listing("tasks")) == 2


def test_the_event_pages_show_what_later_events_did_to_a_task(bench: Bench) -> None:
    import base64
    from dataclasses import replace

    from bridge import create_app
    from bridge.runtime import Runtime

    booked = post(bench, "booked", {"id": 7, "name": "Gala"})
    run(bench)
    task_id = delivered(bench, booked)["task_id"]
    bench.clock.advance(60)
    moved = post(bench, "moved", {"id": 7, "room": "the Harbour Room"})
    bench.clock.advance(60)
    cancel = post(bench, "cancelled", {"id": 7})
    run(bench)
    runtime = Runtime(
        settings=replace(bench.runtime.settings, admin_token="page-token"),
        config=bench.runtime.config,
        clock=bench.clock,
    )
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:page-token").decode()}
    web = create_app(runtime=runtime).test_client()

    page = web.get(f"/events/{booked}", headers=auth)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Changed later" in html
    changed = html[html.index("Changed later") :]
    assert changed.index(moved) < changed.index(cancel)  # in the order they came
    assert "<strong>update</strong>" in changed and "<strong>cancel</strong>" in changed
    assert "priority: high" in changed and "status: Cancelled" in changed
    assert "a line added: Moved to the Harbour Room." in changed

    acting = web.get(f"/events/{cancel}", headers=auth).get_data(as_text=True)
    assert "Changes to earlier tasks" in acting
    assert f'data-task="{task_id}"' in acting and f"/events/{booked}" in acting
    assert "(was Not Started)" in acting
    assert "Action: <strong>cancel the open tasks of booking</strong>" in acting


def test_a_task_deleted_in_ivvy_is_skipped_and_its_key_gets_a_new_task(bench: Bench) -> None:
    from bridge.ivvy.sandbox.state import packaged_seed

    first = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="a")  # fmt: skip
    run(bench)
    gone = delivered(bench, first)["task_id"]
    # Someone deletes it in iVvy (the sandbox seeded afresh: no tasks).
    url = f"{bench.sandbox.url}/_sandbox/seed"
    requests.post(url, json=packaged_seed(), timeout=5).raise_for_status()
    bench.clock.advance(3600)
    again = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="b")  # fmt: skip
    run(bench)
    (action,) = actions(bench, again)
    assert (action["task_id"], action["state"]) == (gone, "skipped")
    assert action["error"] == "the task is no longer in iVvy"
    row = delivered(bench, again)
    assert row["state"] == "done"  # created anew (the reseeded sandbox numbers tasks from 1)
    (new,) = bench.listing("tasks")
    assert new["id"] == row["task_id"] and new["description"].startswith("b\n")
    # The next one updates the new task, not the deleted one.
    bench.clock.advance(3600)
    third = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="c")  # fmt: skip
    run(bench)
    assert delivered(bench, third)["open_task_of"] == row["id"]
    (updated,) = bench.listing("tasks")
    assert updated["description"].splitlines()[-1].startswith("Asked again: c [bridge")


def test_pruning_an_event_takes_its_task_memory_with_it(bench: Bench) -> None:
    from datetime import timedelta

    from bridge.store.pruning import prune

    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="a")
    run(bench)
    bench.clock.advance(3600)
    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="b")
    run(bench)
    assert len(bench.rows("SELECT * FROM task_actions")) == 1
    assert len(bench.rows("SELECT * FROM task_keys")) == 1
    retention = bench.runtime.config.retention
    later = bench.clock() + timedelta(days=retention.events_days + 1)
    assert prune(bench.engine, retention, now=later)["events"] == 2
    assert bench.rows("SELECT * FROM task_actions") == []
    assert bench.rows("SELECT * FROM task_keys") == []
    # The key's next event makes a task of its own.
    bench.clock.set(later)
    fresh = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="c")  # fmt: skip
    run(bench)
    assert delivered(bench, fresh)["state"] == "done"


def test_an_event_whose_key_task_is_still_being_created_waits_and_then_updates_it(
    bench: Bench,
) -> None:
    first = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                 message="a")  # fmt: skip
    # The first event takes the key, then iVvy fails for now (its first call, the contact's
    # look-up): the key's task is not made yet, and the job waits for its retry.
    bench.faults(fail_next=1, status=503)
    worker = bench.worker()
    worker.run_pending(max_jobs=1)
    assert delivered(bench, first)["state"] == "pending"
    assert bench.job(first)["state"] == "ready"
    second = post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li",
                  message="b")  # fmt: skip
    worker.run_pending(max_jobs=1)
    assert bench.job(second)["state"] == "ready"  # waits for the key's task
    assert (
        bench.rows("SELECT * FROM deliveries WHERE event_id = :e", e=second)[0]["open_task_of"]
        == delivered(bench, first)["id"]
    )
    assert bench.listing("tasks") == []
    bench.clear_faults()
    for _ in range(3):
        bench.clock.advance(3600)
        worker.run_pending()
    (task,) = bench.listing("tasks")
    assert delivered(bench, first)["task_id"] == task["id"]
    assert (delivered(bench, second)["state"], delivered(bench, second)["task_id"]) == (
        "acted", task["id"],
    )  # fmt: skip
    assert task["description"].splitlines()[-1].startswith("Asked again: b [bridge")


def test_backtest_shows_actions_like_creations_and_agrees_with_what_happened(
    bench: Bench,
) -> None:
    from bridge.backtest.report import backtest
    from bridge.store.backtest_reads import recent_runs

    post(bench, "booked", {"id": 7, "name": "Gala"})
    bench.clock.advance(60)
    post(bench, "cancelled", {"id": 7})
    bench.clock.advance(60)
    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="a")
    bench.clock.advance(60)
    post(bench, "form", email="ana@example.org", first_name="Ana", last_name="Li", message="b")
    run(bench)
    report = backtest(bench.runtime.config, "website", recent_runs(bench.engine, "website", 10), 10)
    assert report.differences == []  # the cancel and the update_open update, as they happened
    cancel_run = next(r for r in report.runs if any(v["rule"] == "booking-cancelled"
                                                    for v in r["rules"]))  # fmt: skip
    assert cancel_run["rules"] == [
        {"rule": "booking-cancelled", "verdict": "action", "action": "cancel",
         "tasks_of": ["booking"], "key": "booking-7"}
    ]  # fmt: skip
    assert report.tallies["booking-cancelled"].matched == 1
    assert not report.tallies["booking-cancelled"].errors
