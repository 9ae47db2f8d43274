"""1,000 events, two rules each (a contact's task; a new lead with its contact and its task),
while iVvy loses 20 % of its answers after acting on them: exactly one task per (event, rule),
one contact per email, one lead per event.  Two worker processes, the sandbox iVvy."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
import requests

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from tests.delivery.harness import LEAD_RULE
from tests.faults.support import (
    enqueue_events,
    job_states,
    process_env,
    rows,
    set_faults,
    wait_until,
    write_fault_config,
)
from tests.support.configs import WEBSITE_RULE
from tests.support.processes import BridgeProcess

EVENTS = int(os.environ.get("BRIDGE_LOST_ANSWERS_EVENTS", "1000"))
FULL_MARKER = re.compile(r"\[bridge ev_[0-9a-z]+ [0-9a-f]{8}\]")


@pytest.mark.slow
def test_lost_answers_never_duplicate_anything(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    # Lost answers are not an outage: the circuit breaker stays out of the way.
    path = write_fault_config(
        tmp_path, sandbox.url, rules=WEBSITE_RULE + LEAD_RULE, circuit_failures=10_000
    )
    env = process_env(path, database_url)
    engine = build_engine(database_url)
    enqueue_events(engine, EVENTS)
    set_faults(sandbox.url, drop_rate=0.2, seed=20)
    workers = [
        BridgeProcess(["worker", "--concurrency", "4"], env, tmp_path / f"worker{n}.log")
        for n in range(2)
    ]
    try:
        wait_until(lambda: job_states(engine)["done"] == EVENTS, 300, "every job done", 0.5)
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0]
    assert job_states(engine) == {"done": EVENTS}

    get = lambda kind: requests.get(f"{sandbox.url}/_sandbox/{kind}", timeout=60).json()  # noqa: E731
    markers = Counter(
        m.group(0) for task in get("tasks") for m in FULL_MARKER.finditer(task["description"])
    )
    assert len(markers) == 2 * EVENTS and set(markers.values()) == {1}
    emails = Counter(c["email"] for c in get("contacts") if c["email"].startswith("guest"))
    assert len(emails) == EVENTS and set(emails.values()) == {1}
    leads = Counter(lead["name"] for lead in get("leads") if "Number" in lead["name"])
    assert len(leads) == EVENTS and set(leads.values()) == {1}
    # Every kind of creation met lost answers, many times (about a fifth of each were lost):
    # the bridge's attempt log has them as calls that got no HTTP status.
    lost = Counter(
        row["call"] for row in rows(engine, "SELECT call FROM attempts WHERE status IS NULL")
    )
    assert lost["crm.addOrUpdateTask"] > EVENTS // 10
    assert lost["contact.addOrUpdateContact"] > EVENTS // 20
    assert lost["contact.addOrUpdateLead"] > EVENTS // 20
    engine.dispose()
