"""Exactly one task per (event, rule): lost answers, replays and a worker that lost its lease."""

from __future__ import annotations

from pathlib import Path

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.inbox import enqueue
from tests.delivery.harness import LEAD_RULE, Bench, make_bench
from tests.support.configs import WEBSITE_RULE
from tests.support.processes import free_port


def run_until_settled(bench: Bench, event_id: str) -> None:
    """Run the event's job, moving the clock to each retry, until it is done or dead."""
    worker = bench.worker()
    for _ in range(20):
        job = bench.job(event_id)
        if job["state"] in ("done", "dead"):
            return
        bench.clock.set(max(bench.clock(), job["run_at"]))
        worker.run_pending()
    raise AssertionError("the job never settled")


def delivery(bench: Bench, event_id: str) -> dict[str, object]:
    rows = bench.rows("SELECT * FROM deliveries WHERE event_id = :e", e=event_id)
    assert len(rows) == 1
    return dict(rows[0])


def test_a_lost_answer_to_the_task_creation_creates_no_second_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    bench.drop_call(1)  # addOrUpdateTask is handled, then the connection is closed
    assert bench.worker().run_pending() == 1
    bench.clear_faults()
    assert bench.job(event_id)["state"] == "ready"
    assert delivery(bench, event_id)["state"] == "creating_task"
    assert len(bench.listing("tasks")) == 1  # iVvy did create it

    run_until_settled(bench, event_id)
    tasks = bench.listing("tasks")
    assert len(tasks) == 1
    assert delivery(bench, event_id)["task_id"] == tasks[0]["id"]
    assert [c["fault"] for c in bench.calls("addOrUpdateTask")] == ["drop"]  # never sent again


def test_a_send_ivvy_refused_is_sent_again_without_a_search(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    bench.faults(fail_next=1, status=429)  # addOrUpdateTask refused: nothing was written
    bench.worker().run_pending()
    bench.clear_faults()
    stored = delivery(bench, event_id)
    assert stored["state"] == "task_unsent"

    run_until_settled(bench, event_id)
    assert bench.calls("getTaskList") == []  # no need to look for what was never created
    assert len(bench.listing("tasks")) == 1
    assert [c["status"] for c in bench.calls("addOrUpdateTask")] == [429, 200]
    assert delivery(bench, event_id)["task"] == stored["task"]  # the same body, sent again


def test_a_send_that_could_not_connect_is_sent_again_without_a_search(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    (tmp_path / "down").mkdir()
    closed = f"http://127.0.0.1:{free_port()}"
    down = make_bench(tmp_path / "down", sandbox, database_url, ivvy_url=closed)
    event_id = down.submit()
    down.worker().run_pending()  # iVvy unreachable: the connection is refused
    assert delivery(down, event_id)["state"] == "task_unsent"

    bench = make_bench(tmp_path, sandbox, database_url, clock=down.clock)
    run_until_settled(bench, event_id)
    assert bench.calls("getTaskList") == []
    assert len(bench.calls("addOrUpdateTask")) == 1
    assert len(bench.listing("tasks")) == 1


def test_a_send_that_may_have_reached_ivvy_is_searched_for_first(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    bench.faults(fail_next=1, status=503)  # a 5xx to a write: iVvy may have applied it
    bench.worker().run_pending()
    bench.clear_faults()
    assert delivery(bench, event_id)["state"] == "creating_task"

    run_until_settled(bench, event_id)
    assert len(bench.calls("getTaskList")) == 1
    assert len(bench.listing("tasks")) == 1


def test_a_lost_answer_to_the_contact_creation_creates_no_second_contact(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=WEBSITE_RULE)
    event_id = bench.submit(email="new.person@example.org")
    bench.drop_call(2)  # getContactList, then addOrUpdateContact: dropped
    bench.worker().run_pending()
    bench.clear_faults()
    assert [c["fault"] for c in bench.calls("addOrUpdateContact")] == ["drop"]

    run_until_settled(bench, event_id)
    contacts = [c for c in bench.listing("contacts") if c["email"] == "new.person@example.org"]
    assert len(contacts) == 1
    tasks = bench.listing("tasks")
    assert [t["contactId"] for t in tasks] == [contacts[0]["id"]]
    assert len(bench.calls("addOrUpdateContact")) == 1


def test_a_lost_answer_to_the_lead_creation_creates_no_second_lead(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=LEAD_RULE)
    event_id = bench.submit(email="lead.person@example.org")
    # getLeadList (is it there already?), getContactList, addOrUpdateContact, addOrUpdateLead
    bench.drop_call(4)
    bench.worker().run_pending()
    bench.clear_faults()
    assert [c["fault"] for c in bench.calls("addOrUpdateLead")] == ["drop"]

    run_until_settled(bench, event_id)
    leads = [lead for lead in bench.listing("leads") if lead["name"] == "Enquiry from Priya Raman"]
    assert len(leads) == 1
    assert [t["leadId"] for t in bench.listing("tasks")] == [leads[0]["id"]]
    contacts = [c for c in bench.listing("contacts") if c["email"] == "lead.person@example.org"]
    assert len(contacts) == 1
    assert len(bench.calls("addOrUpdateLead")) == 1


def test_a_replayed_event_never_duplicates_its_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=WEBSITE_RULE)
    event_id = bench.submit()
    run_until_settled(bench, event_id)
    assert len(bench.listing("tasks")) == 1

    for _ in range(2):  # a new job for the same event, twice
        with bench.engine.begin() as conn:
            enqueue(conn, event_id, bench.clock())
        run_until_settled(bench, event_id)
    assert len(bench.listing("tasks")) == 1
    assert len(bench.calls("addOrUpdateTask")) == 1
    states = bench.rows("SELECT state FROM jobs WHERE event_id = :e", e=event_id)
    assert [r["state"] for r in states] == ["done", "done", "done"]


def test_a_replay_after_a_lost_answer_and_a_dead_job_finds_the_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, delivery="delivery:\n  max_attempts: 1\n")
    event_id = bench.submit()
    bench.drop_call(1)
    bench.worker().run_pending()
    bench.clear_faults()
    assert bench.job(event_id)["state"] == "dead"  # one attempt allowed, its answer lost

    with bench.engine.begin() as conn:
        enqueue(conn, event_id, bench.clock())
    run_until_settled(bench, event_id)
    assert bench.job(event_id)["state"] == "done"
    assert len(bench.listing("tasks")) == 1


def test_a_worker_that_lost_its_lease_sends_nothing(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    slow, fast = bench.worker(), bench.worker()
    (held,) = slow.queue.claim(slow.worker_id, limit=1, lease_seconds=60, now=bench.clock())
    bench.clock.advance(61)  # the slow worker stalled past its lease...
    (taken,) = fast.queue.claim(fast.worker_id, limit=1, lease_seconds=60, now=bench.clock())
    assert taken.id == held.id

    result = slow.process(held, slow.slot())  # ...and wakes up: it must not create the task
    assert result.outcome == "lost"
    assert bench.calls("addOrUpdateTask") == []
    assert fast.process(taken, fast.slot()).outcome == "done"
    assert len(bench.listing("tasks")) == 1
    job = bench.job(event_id)
    assert (job["state"], job["claims"], job["lease_owner"]) == ("done", 2, None)


def test_completion_is_fenced_by_ownership(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    bench.submit()
    queue, now = bench.worker().queue, bench.clock()
    (job,) = queue.claim("a", limit=1, lease_seconds=10, now=now)
    assert queue.claim("b", limit=1, lease_seconds=10, now=now) == []  # held
    bench.clock.advance(11)
    (again,) = queue.claim("b", limit=1, lease_seconds=10, now=bench.clock())
    assert again.id == job.id and again.claims == 2
    assert not queue.complete(job.id, "a", now=bench.clock())
    assert not queue.retry(job.id, "a", run_at=now, error="x", now=bench.clock())
    assert not queue.release(job.id, "a", now=bench.clock())
    assert queue.heartbeat([job.id], "a", lease_seconds=10, now=bench.clock()) == set()
    assert queue.heartbeat([job.id], "b", lease_seconds=10, now=bench.clock()) == {job.id}
    assert queue.complete(job.id, "b", now=bench.clock())
    assert not queue.complete(job.id, "b", now=bench.clock())  # once


def test_a_job_whose_worker_keeps_dying_is_dead_with_a_reason(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    from bridge.store.queue import MAX_CRASHES

    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    queue = bench.worker().queue
    for crash in range(MAX_CRASHES):
        (job,) = queue.claim(f"w{crash}", limit=1, lease_seconds=10, now=bench.clock())
        bench.clock.advance(11)  # the worker died holding it; the lease runs out
    assert queue.claim("last", limit=1, lease_seconds=10, now=bench.clock()) == []
    job = bench.job(event_id)
    assert job["state"] == "dead" and job["lease_owner"] is None
    assert f"stopped {MAX_CRASHES} times" in job["last_error"]
    event = bench.rows("SELECT state FROM events WHERE id = :e", e=event_id)[0]
    assert event["state"] == "dead"


def test_a_released_job_keeps_its_crash_count(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url)
    event_id = bench.submit()
    queue = bench.worker().queue
    for _ in range(5):  # graceful stops are not crashes
        (job,) = queue.claim("w", limit=1, lease_seconds=10, now=bench.clock())
        assert queue.release(job.id, "w", now=bench.clock())
    assert bench.job(event_id)["claims"] == 0
    assert bench.worker().run_pending() == 1
    assert bench.job(event_id)["state"] == "done"
