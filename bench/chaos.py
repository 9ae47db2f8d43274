"""What the chaos tests (tests/faults/test_chaos_*.py) share: settings, and reading the outcome.

``BRIDGE_CHAOS_LONG=1`` selects the long versions (a minute of load, 1,000 events).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

import requests
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bridge.store.tables import attempts, events, jobs

LONG = os.environ.get("BRIDGE_CHAOS_LONG") == "1"

# Fast retries, a breaker that never holds workers back for long, short iVvy timeouts.
QUICK_DELIVERY = """
delivery:
  lease_seconds: 15
  max_attempts: 60
  backoff: {base_seconds: 0.1, cap_seconds: 1}
  circuit: {failures: 1000, cooldown_seconds: 1}
"""
SHORT_IVVY_TIMEOUTS = """
  timeout_seconds: 2
  connect_timeout_seconds: 0.5
"""

MARKER = re.compile(r"\[bridge ev_[0-9a-z]+ [0-9a-f]{8}\]")


def stored_events(engine: Engine) -> dict[str, list[tuple[str, int]]]:
    """For each external id: every stored event with it, and how many jobs that event has."""
    query = (
        select(events.c.external_id, events.c.id, func.count(jobs.c.id))
        .select_from(events.outerjoin(jobs, jobs.c.event_id == events.c.id))
        .group_by(events.c.external_id, events.c.id)
    )
    found: dict[str, list[tuple[str, int]]] = {}
    with engine.connect() as conn:
        for external_id, event_id, job_count in conn.execute(query):
            found.setdefault(str(external_id), []).append((str(event_id), int(job_count)))
    return found


def job_states(engine: Engine) -> Counter[str]:
    """How many jobs are in each state."""
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
        return Counter({str(state): int(count) for state, count in rows})


def lost_answers(engine: Engine) -> Counter[str]:
    """Per iVvy action, the worker's calls that got no HTTP answer (its own attempt log).

    The sandbox's call log keeps only its last 1,000 calls; this counts them all.
    """
    query = (
        select(attempts.c.call, func.count())
        .where(attempts.c.status.is_(None), attempts.c.error.is_not(None))
        .group_by(attempts.c.call)
    )
    with engine.connect() as conn:
        return Counter({str(call).split(".")[-1]: int(n) for call, n in conn.execute(query)})


def sqlite_integrity(engine: Engine) -> str:
    """``ok`` when SQLite's integrity check passes (and on PostgreSQL, which has none)."""
    if engine.dialect.name != "sqlite":
        return "ok"
    with engine.connect() as conn:
        return str(conn.execute(text("PRAGMA integrity_check")).scalar_one())


def markers_in_tasks(sandbox_url: str) -> Counter[str]:
    """How many sandbox tasks carry each (event, rule) marker."""
    tasks: list[dict[str, Any]] = requests.get(f"{sandbox_url}/_sandbox/tasks", timeout=60).json()
    found: Counter[str] = Counter()
    for task in tasks:
        for marker in MARKER.findall(str(task.get("description") or "")):
            found[marker] += 1
    return found
