"""Helpers for the fault tests: configs with short leases, bulk enqueueing, counting tasks."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from bridge.events import Event
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET
from bridge.store.tables import dedupe_keys, events, jobs
from bridge.store.types import new_id
from tests.support.configs import TOKEN, write_config

# One iVvy call per delivery: a task on company 1 of the seed, nobody assigned.
COMPANY_RULE = """
  - name: company-task
    on: {source: website}
    company: {id: 1}
    task:
      name: "Follow up {{ first_name }}"
      due: "+1 day at 09:00"
"""

MARKER = re.compile(r"\[bridge (ev_[0-9a-z]+) [0-9a-f]{8}\]")
PAST = "2000-01-01 00:00:00"  # a time to write with plain SQL, to make something due now
LEASE_SECONDS = 12  # the least the config allows with these timeouts (0.5 + 1 + 10 s)


def write_fault_config(
    directory: Path, ivvy_url: str, *, rules: str = COMPANY_RULE, circuit_failures: int = 5
) -> Path:
    """A config with short iVvy timeouts, the shortest lease they allow, and quick retries."""
    return write_config(
        directory,
        ivvy_url=ivvy_url,
        rules=rules,
        ivvy_options="  timeout_seconds: 1\n  connect_timeout_seconds: 0.5\n",
        delivery=f"""
delivery:
  lease_seconds: {LEASE_SECONDS}
  backoff: {{base_seconds: 0.1, cap_seconds: 1}}
  max_attempts: 50
  circuit: {{failures: {circuit_failures}}}
""",
    )


def process_env(config: Path, database_url: str) -> dict[str, str]:
    """The environment a bridge process needs."""
    return {
        "DATABASE_URL": database_url,
        "BRIDGE_CONFIG": str(config),
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "WEBSITE_TOKEN": TOKEN,
        "LOG_LEVEL": "INFO",
    }


def enqueue_events(engine: Engine, count: int, *, start: int = 0) -> list[str]:
    """Store ``count`` enquiries with one ready job each, in one transaction; their ids."""
    now = datetime.now(UTC)
    ids: list[str] = []
    event_rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    job_rows: list[dict[str, Any]] = []
    for n in range(start, start + count):
        event_id = new_id("ev_")
        ids.append(event_id)
        event = Event(
            source="website",
            source_type="form",
            kind="form",
            external_id=f"bulk-{n}",
            received_at=now,
            fields={
                "first_name": "Guest",
                "last_name": f"Number{n}",
                "email": f"guest{n}@example.org",
            },
        )
        event_rows.append(
            {
                "id": event_id,
                "source": "website",
                "source_type": "form",
                "kind": "form",
                "external_id": f"bulk-{n}",
                "dedupe_key": f"bulk-{n}",
                "received_at": now,
                "updated_at": now,
                "state": "received",
                "content_type": "application/json",
                "headers": {},
                "body": b"{}",
                "event": event.to_json(with_raw=False),
            }
        )
        key_rows.append(
            {"source": "website", "key": f"bulk-{n}", "event_id": event_id, "created_at": now}
        )
        job_rows.append(
            {
                "event_id": event_id,
                "state": "ready",
                "run_at": now,
                "created_at": now,
                "attempts": 0,
                "claims": 0,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(events), event_rows)
        conn.execute(insert(dedupe_keys), key_rows)
        conn.execute(insert(jobs), job_rows)
    return ids


def tasks_per_event(sandbox_url: str) -> Counter[str]:
    """How many sandbox tasks carry each event's marker."""
    tasks = requests.get(f"{sandbox_url}/_sandbox/tasks", timeout=30).json()
    found: Counter[str] = Counter()
    for task in tasks:
        match = MARKER.search(task.get("description") or "")
        if match:
            found[match.group(1)] += 1
    return found


def job_states(engine: Engine) -> Counter[str]:
    """How many jobs are in each state."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT state, count(*) FROM jobs GROUP BY state"))
        return Counter({state: count for state, count in found})


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    """Rows of a query, as mappings."""
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).mappings())


def set_faults(sandbox_url: str, **knobs: Any) -> None:
    """Set the sandbox's fault knobs."""
    requests.post(f"{sandbox_url}/_sandbox/faults", json=knobs, timeout=5).raise_for_status()


def calls(sandbox_url: str, action: str) -> list[dict[str, Any]]:
    """The sandbox's log of calls to one action."""
    log = requests.get(f"{sandbox_url}/_sandbox/calls", timeout=30).json()
    return [call for call in log if call["action"] == action]


def log_lines(output: str) -> Iterator[dict[str, Any]]:
    """The JSON log records in a process's output."""
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not reached in {timeout:g} s: {what}")
