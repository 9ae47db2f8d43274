"""addOrUpdateTask's own refusals (24389 to 24396) as the worker meets them, and the search for
an opportunity's task under its venue.  Real database (SQLite and PostgreSQL), real sandbox.

Each refusal is provoked the way iVvy would meet it: an owner that does not exist, a user who
is not active, a description too long to store.  The bridge never sends a task ``id`` (24392)
nor a lead together with a contact or company (24396; its schema refuses that body), so those
two come from the sandbox's fault switch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import make_bench


def rule(owner: str, assignee: str = "") -> str:
    return f"""
  - name: refused
    on: {{source: website}}
    {owner}
    task:
      name: "Follow up {{{{ first_name }}}}"
      description: "{{{{ message }}}}"
      due: "+1 day at 09:00"
      {f"assignee: {assignee}" if assignee else ""}
"""


COMPANY = "company: {id: 1}"
CASES = {
    "24389 lead": (rule("lead: {id: 999}"), {}, None, "Lead or opportunity does not exist"),
    "24389 opportunity of another venue": (
        rule("opportunity: {id: 2, venue: 2}"),
        {},
        None,
        "Opportunity does not exist in that venue",
    ),
    "24390": (rule("contact: {id: 999}"), {}, None, "Contact does not exist"),
    "24391": (rule("company: {id: 999}"), {}, None, "Company does not exist"),
    "24392": (rule(COMPANY), {}, 24392, "Sandbox fault"),
    "24393": (rule(COMPANY), {"message": "x" * 70_000}, None, "An error occurred"),
    "24394": (rule(COMPANY, "4"), {}, None, "The assigned user is not active"),
    "24395": (rule(COMPANY, "999"), {}, None, "assignedUserId does not name a user"),
    "24396": (rule(COMPANY), {}, 24396, "Sandbox fault"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_task_refusal_fails_the_delivery_once_with_its_reason(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, case: str
) -> None:
    rules, fields, faulted, said = CASES[case]
    code = int(case.split()[0])
    bench = make_bench(tmp_path, sandbox, database_url, rules=rules)
    event_id = bench.submit(**fields)
    if faulted is not None:
        bench.faults(fail_next=1, status=400, specific_code=faulted)
    worker = bench.worker()
    assert worker.run_pending() == 1

    job = bench.job(event_id)
    assert (job["state"], job["attempts"]) == ("dead", 1)  # permanent: not retried
    (row,) = bench.rows("SELECT state, error FROM deliveries WHERE event_id = :e", e=event_id)
    assert row["state"] == "failed"
    assert f"specificCode {code}" in row["error"] and said in row["error"]
    event = bench.rows("SELECT state, last_error FROM events WHERE id = :e", e=event_id)[0]
    assert event["state"] == "failed" and f"specificCode {code}" in event["last_error"]
    assert "x" * 100 not in row["error"]  # the reason names the failure, not the task's text

    bench.clock.advance(86_400)
    assert worker.run_pending() == 0
    assert [c["specificCode"] for c in bench.calls("addOrUpdateTask")] == [code]
    assert bench.listing("tasks") == []


OPPORTUNITY = rule("opportunity: {id: 2, venue: 1}")


def test_an_opportunitys_task_whose_answer_was_lost_is_found_under_its_venue(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=OPPORTUNITY)
    event_id = bench.submit()
    bench.drop_call(2)  # getVenueList (the venue's timezone), then addOrUpdateTask: lost
    worker = bench.worker()
    worker.run_pending()
    bench.clear_faults()
    assert [c["action"] for c in bench.calls()] == ["getVenueList", "addOrUpdateTask"]
    created = bench.listing("tasks")
    assert [(t["leadId"], t["venueId"]) for t in created] == [(2, 1)]

    for _ in range(10):
        job = bench.job(event_id)
        if job["state"] == "done":
            break
        bench.clock.set(max(bench.clock(), job["run_at"]))
        worker.run_pending()
    assert bench.job(event_id)["state"] == "done"
    assert len(bench.listing("tasks")) == 1  # found again, not created twice
    (row,) = bench.rows("SELECT task_id FROM deliveries WHERE event_id = :e", e=event_id)
    assert row["task_id"] == created[0]["id"]
    assert [c["status"] for c in bench.calls("getTaskList")] == [200]
