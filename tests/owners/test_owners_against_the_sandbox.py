"""Every kind of owner, and every way an owner can be missing, against the sandbox iVvy.

The worker runs in process (``run_pending``) on a real database, talking to the
sandbox over real HTTP.  The seed holds contact 1 (jane.doe@example.com),
company 1 ("Acme Events Pty Ltd"), opportunity 2 at venue 1 (Sydney), venue 2
(London) and users 1 (Olivia Nguyen) and 2 (events@venue.example).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import Bench, ManualClock, make_bench

# Friday 2026-11-27, 10:00 in Sydney.
ARRIVED = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


def rule(owner: str, *, assignee: str = "", extra: str = "") -> str:
    """One rule with the given owner block (YAML, indented as a rule's key)."""
    return f"""
  - name: owner-rule
    on: {{source: website}}
{owner}
{extra}
    task:
      name: "Follow up {{{{ first_name }}}}"
      due: "+1 business day at 09:00"
      {assignee}
"""


def bench_with(tmp_path: Path, sandbox: SandboxServer, database_url: str, rules: str) -> Bench:
    return make_bench(tmp_path, sandbox, database_url, rules=rules, clock=ManualClock(ARRIVED))


def deliver(bench: Bench, **fields: str) -> str:
    event_id = bench.submit(**fields)
    bench.worker().run_pending()
    return event_id


def only_task(bench: Bench) -> dict[str, Any]:
    tasks = bench.listing("tasks")
    assert len(tasks) == 1, tasks
    return tasks[0]


def due_local(task: dict[str, Any], zone: str) -> datetime:
    stamp = datetime.strptime(task["endDatetime"][:19], "%Y-%m-%d %H:%M:%S")
    return stamp.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def test_a_contact_found_by_email_owns_the_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = bench_with(tmp_path, sandbox, database_url, rule('    contact: {email: "{{ email }}"}'))
    deliver(bench, email="JANE.DOE@example.com")  # found case-insensitively
    task = only_task(bench)
    assert task["contactId"] == 1
    assert len(bench.listing("contacts")) == len(sandbox.state.records("contacts"))
    # Monday 30 November, 09:00 in Sydney: the next business day after a Friday.
    assert due_local(task, "Australia/Sydney") == datetime(
        2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Australia/Sydney")
    )


def test_a_missing_contact_is_created_from_the_event(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    owner = '    contact: {email: "{{ email }}", create: true}'
    bench = bench_with(tmp_path, sandbox, database_url, rule(owner))
    deliver(
        bench,
        email="new.person@example.org",
        first_name="Nina",
        last_name="Park",
        phone="+61 400 000 999",
    )
    created = [c for c in bench.listing("contacts") if c["email"] == "new.person@example.org"]
    assert len(created) == 1
    assert (created[0]["firstName"], created[0]["lastName"]) == ("Nina", "Park")
    assert created[0]["phone"] == "+61 400 000 999"
    assert only_task(bench)["contactId"] == created[0]["id"]


def test_a_new_lead_is_created_and_owns_the_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    owner = """    new_lead:
      name: "Enquiry from {{ first_name }} {{ last_name }}"
      source_id: 1
      type_id: 1
      stage_id: 1
      industry_id: 1
      contact: {email: "{{ email }}", firstName: "{{ first_name }}", lastName: "{{ last_name }}"}"""
    bench = bench_with(tmp_path, sandbox, database_url, rule(owner))
    deliver(bench, first_name="Omar", last_name="Haddad", email="omar@example.org")
    leads = [lead for lead in bench.listing("leads") if lead["name"] == "Enquiry from Omar Haddad"]
    assert len(leads) == 1
    contact = next(c for c in bench.listing("contacts") if c["email"] == "omar@example.org")
    assert leads[0]["contactId"] == contact["id"]
    assert only_task(bench)["leadId"] == leads[0]["id"]


def test_an_opportunity_task_carries_its_venue(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    owner = '    opportunity: {id: "{{ opportunity_id }}", venue: "{{ venue_id }}"}'
    bench = bench_with(tmp_path, sandbox, database_url, rule(owner))
    deliver(bench, opportunity_id="2", venue_id="1")
    task = only_task(bench)
    assert (task["leadId"], task["venueId"]) == (2, 1)


def test_a_rule_naming_a_venue_is_due_in_that_venues_timezone(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    # The config's timezone is Sydney; venue 2 (getVenueList) is in London.
    rules = rule("    company: {id: 1}", extra='    venue: "{{ venue_id }}"')
    bench = bench_with(tmp_path, sandbox, database_url, rules)
    deliver(bench, venue_id="2")
    # Arrived Thursday 23:00 in London: the next business day is Friday, 09:00 London time.
    assert due_local(only_task(bench), "Europe/London") == datetime(
        2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Europe/London")
    )


@pytest.mark.parametrize(
    "owner",
    ["    company: {id: 1}", '    company: {name: "{{ company }}"}'],
    ids=["by-id", "by-name"],
)
def test_a_company_owns_the_task(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, owner: str
) -> None:
    bench = bench_with(tmp_path, sandbox, database_url, rule(owner))
    deliver(bench, company="acme events pty ltd")
    assert only_task(bench)["companyId"] == 1


@pytest.mark.parametrize(
    ("assignee", "user_id"),
    [("events@venue.example", 2), ("Olivia Nguyen", 1), ("2", 2)],
    ids=["email", "full-name", "id"],
)
def test_the_assignee_is_resolved_through_get_user_list(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, assignee: str, user_id: int
) -> None:
    rules = rule("    company: {id: 1}", assignee=f'assignee: "{assignee}"')
    bench = bench_with(tmp_path, sandbox, database_url, rules)
    deliver(bench)
    assert only_task(bench)["assignedUserId"] == user_id


def test_a_list_of_assignees_rotates(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    rules = rule("    company: {id: 1}", assignee="assignee: [olivia.nguyen@venue.example, 2]")
    bench = bench_with(tmp_path, sandbox, database_url, rules)
    for n in range(1, 5):
        bench.submit(n)
    bench.worker().run_pending()
    tasks = sorted(bench.listing("tasks"), key=lambda t: t["id"])
    assert [t["assignedUserId"] for t in tasks] == [1, 2, 1, 2]


MISSING = [
    (
        '    contact: {email: "{{ email }}", create: true}',
        {"email": ""},
        "no email in the event",
    ),
    (
        '    contact: {email: "{{ email }}"}',
        {"email": "nobody@example.org"},
        "does not create one",
    ),
    (
        '    contact: {email: "{{ email }}", create: true}',
        {"email": "half@example.org", "last_name": ""},
        "lastName",
    ),
    ('    company: {name: "{{ company }}"}', {"company": "No Such Company"}, "no company"),
    ('    company: {name: "{{ company }}"}', {"company": ""}, "company name"),
    (
        '    opportunity: {id: "{{ opportunity_id }}", venue: "1"}',
        {"opportunity_id": ""},
        "opportunity id rendered empty",
    ),
]


@pytest.mark.parametrize(("owner", "fields", "reason"), MISSING)
def test_a_missing_owner_fails_the_event_with_a_reason_and_is_not_retried(
    tmp_path: Path,
    sandbox: SandboxServer,
    database_url: str,
    owner: str,
    fields: dict[str, str],
    reason: str,
) -> None:
    bench = bench_with(tmp_path, sandbox, database_url, rule(owner))
    event_id = deliver(bench, **fields)
    assert bench.listing("tasks") == []
    (event,) = bench.rows("SELECT state, last_error FROM events WHERE id = :id", id=event_id)
    assert event["state"] == "failed"
    (delivery,) = bench.rows(
        "SELECT state, error FROM deliveries WHERE event_id = :id", id=event_id
    )
    assert delivery["state"] == "failed"
    assert reason in delivery["error"]
    assert "@" not in delivery["error"]  # the reason names the problem, not the address
    assert bench.job(event_id)["state"] != "ready"  # a person must act: no retry
    bench.clock.advance(3600)
    assert bench.worker().run_pending() == 0


def test_an_assignee_who_is_not_a_user_fails_the_event(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    rules = rule("    company: {id: 1}", assignee='assignee: "ghost@venue.example"')
    bench = bench_with(tmp_path, sandbox, database_url, rules)
    event_id = deliver(bench)
    assert bench.listing("tasks") == []
    (delivery,) = bench.rows(
        "SELECT state, error FROM deliveries WHERE event_id = :id", id=event_id
    )
    assert delivery["state"] == "failed"
    assert "not a user in iVvy" in delivery["error"]
