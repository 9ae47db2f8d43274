"""iVvy commits, then its answer is lost (the connection closes), for 20 % of calls: still
exactly one task per (event, rule), and exactly one contact per email (reliability 6 D).

200 events by default; ``BRIDGE_CHAOS_LONG=1`` runs the full 1,000.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests

from bench import chaos, stack
from bench.seed import seed_events
from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from tests.support.processes import wait_for

pytestmark = pytest.mark.slow

EVENTS = 1000 if chaos.LONG else 200

# Two rules on every event, each owning its task by the enquirer's contact, found by email
# or created: contact creation and task creation both face lost answers.
TWO_RULES = """
  - name: call-back
    on: {source: typeform-form}
    contact:
      email: "{{ email }}"
      create: {firstName: "Guest", lastName: "{{ external_id }}"}
    task:
      name: "Call back {{ email }}"
      due: "+1 business day at 09:00"
      assignee: 1
  - name: send-brochure
    on: {source: typeform-form}
    contact:
      email: "{{ email }}"
      create: {firstName: "Guest", lastName: "{{ external_id }}"}
    task:
      name: "Send the brochure to {{ email }}"
      due: "+2 business days at 09:00"
      assignee: 2
"""


def test_lost_answers_leave_exactly_one_task_per_event_and_rule(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    config = stack.bench_config(
        tmp_path,
        sandbox.url,
        rules=TWO_RULES,
        delivery=chaos.QUICK_DELIVERY,
        ivvy_options=chaos.SHORT_IVVY_TIMEOUTS,
    )
    env = stack.bridge_env(database_url, config)
    event_ids = seed_events(database_url, config, env, "drop", EVENTS)
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"drop_rate": 0.2, "seed": 7}, timeout=5
    ).raise_for_status()
    worker = stack.start_worker(env, tmp_path / "worker.log", concurrency=8)
    engine = build_engine(database_url)
    try:
        wait_for(lambda: chaos.job_states(engine)["done"] == EVENTS, timeout=240, interval=0.5)
        states = chaos.job_states(engine)
        lost = chaos.lost_answers(engine)
    finally:
        worker.stop()
        engine.dispose()
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)

    assert lost["addOrUpdateTask"] > 0 and lost["addOrUpdateContact"] > 0, lost
    assert states == {"done": EVENTS}, states

    markers = chaos.markers_in_tasks(sandbox.url)
    per_event_rule = Counter(marker.split()[1] for marker in markers.elements())
    assert set(markers.values()) == {1}, "a (event, rule) has more than one task"
    assert per_event_rule == dict.fromkeys(event_ids, 2), "an (event, rule) has no task"

    contacts = requests.get(f"{sandbox.url}/_sandbox/contacts", timeout=30).json()
    per_email = Counter(c["email"] for c in contacts if str(c.get("email")).startswith("guest."))
    assert len(per_email) == EVENTS
    assert set(per_email.values()) == {1}, "a contact was created twice"
    print(
        f"{EVENTS} events x 2 rules: {sum(markers.values())} tasks, {len(per_email)} contacts; "
        f"answers lost: {dict(lost)}"
    )
