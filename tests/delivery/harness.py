"""In-process delivery with real parts: a Runtime on a real database, the sandbox iVvy over
HTTP, and a clock the test moves by hand."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from bridge.config import load_config
from bridge.events import Event
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.inbox import accept
from bridge.store.tables import jobs
from bridge.worker import Worker
from tests.support.configs import TOKEN, write_config

CONFIG_ENV = {
    "IVVY_API_KEY": SANDBOX_KEY,
    "IVVY_API_SECRET": SANDBOX_SECRET,
    "WEBSITE_TOKEN": TOKEN,
}

# A task on company 1 of the seed, nobody assigned: exactly one iVvy call per delivery.
COMPANY_RULE = """
  - name: company-task
    on: {source: website}
    company: {id: 1}
    task:
      name: "Follow up {{ first_name }}"
      description: "{{ message }}"
      due: "+1 day at 09:00"
"""

# A new lead (with its contact) and the task on it.
LEAD_RULE = """
  - name: new-lead
    on: {source: website}
    new_lead:
      name: "Enquiry from {{ first_name }} {{ last_name }}"
      description: "{{ message }}"
      source_id: 1
      type_id: 1
      stage_id: 1
      industry_id: 1
      contact: {email: "{{ email }}", firstName: "{{ first_name }}", lastName: "{{ last_name }}"}
    task:
      name: "Send a proposal to {{ first_name }}"
      due: "+2 days at 10:00"
"""


class ManualClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self.now = when

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.now += timedelta(seconds=seconds)


@dataclass
class Bench:
    """A runtime with a manual clock, against one database and the sandbox."""

    runtime: Runtime
    clock: ManualClock
    sandbox: SandboxServer

    @property
    def engine(self) -> Engine:
        """The runtime's engine."""
        return self.runtime.engine

    def worker(self, rand: Callable[[], float] | None = None) -> Worker:
        """A worker on this runtime (stepped with ``run_pending``)."""
        return Worker(self.runtime, rand=rand or random.Random(1).random)

    def submit(self, n: int = 1, **fields: str) -> str:
        """Store an enquiry with its job, as the ingest route does; the event id."""
        values = {
            "first_name": "Priya",
            "last_name": "Raman",
            "email": f"priya.{n}@example.org",
            "message": f"Enquiry {n}",
            **fields,
        }
        event = Event(
            source="website",
            source_type="form",
            kind="form",
            external_id=f"enquiry-{n}",
            received_at=self.clock(),
            fields=values,
        )
        result = accept(
            self.engine,
            event,
            f"enquiry-{n}",
            headers={},
            body=b"{}",
            content_type="application/json",
            now=self.clock(),
        )
        return result.event_id

    def job(self, event_id: str) -> Any:
        """The (latest) job row of an event."""
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(jobs).where(jobs.c.event_id == event_id).order_by(jobs.c.id.desc())
                )
                .mappings()
                .first()
            )

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query, as mappings."""
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).mappings())

    # -- the sandbox -----------------------------------------------------------

    def faults(self, **knobs: Any) -> None:
        """Set sandbox fault knobs."""
        response = requests.post(f"{self.sandbox.url}/_sandbox/faults", json=knobs, timeout=5)
        response.raise_for_status()

    def clear_faults(self) -> None:
        """Every fault knob off."""
        requests.delete(f"{self.sandbox.url}/_sandbox/faults", timeout=5).raise_for_status()

    def drop_call(self, n: int) -> None:
        """Drop the answer to the ``n``-th API call from now (handled, then hung up), and no other
        among the first ``n``.  Clear the faults after that call."""
        seed = next(s for s in range(10_000) if _drops(s, n) == [False] * (n - 1) + [True])
        self.faults(drop_rate=0.5, seed=seed)

    def listing(self, kind: str) -> list[dict[str, Any]]:
        """What the sandbox holds: tasks, contacts, leads..."""
        response = requests.get(f"{self.sandbox.url}/_sandbox/{kind}", timeout=5)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def calls(self, action: str | None = None) -> list[dict[str, Any]]:
        """The sandbox's API call log, optionally of one action."""
        log = requests.get(f"{self.sandbox.url}/_sandbox/calls", timeout=5).json()
        return [c for c in log if action is None or c["action"] == action]


def _drops(seed: int, n: int) -> list[bool]:
    generator = random.Random(seed)
    return [generator.random() < 0.5 for _ in range(n)]


def make_bench(
    tmp_path: Path,
    sandbox: SandboxServer,
    database_url: str,
    *,
    rules: str = COMPANY_RULE,
    delivery: str = "",
    clock: ManualClock | None = None,
    ivvy_url: str | None = None,
) -> Bench:
    """A bench whose config has ``rules`` and a ``delivery`` section (YAML text).

    ``ivvy_url`` points the bridge elsewhere than the sandbox (a closed port, say).
    """
    path = write_config(tmp_path, ivvy_url=ivvy_url or sandbox.url, rules=rules, delivery=delivery)
    clock = clock or ManualClock()
    runtime = Runtime(
        settings=Settings(database_url=database_url, config_path=str(path)),
        config=load_config(str(path), env=CONFIG_ENV),
        clock=clock,
    )
    return Bench(runtime, clock, sandbox)
