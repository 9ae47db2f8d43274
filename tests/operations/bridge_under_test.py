"""The bridge under test: runtimes from config files, ingest, worker runs, sandbox tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.schema import Table

from bridge import create_app
from bridge.clock import utc_now
from bridge.config import load_config
from bridge.ivvy.sandbox import SandboxServer
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.worker import Worker
from tests.support.configs import TOKEN, write_config

PARTNER_SOURCE = """
  partner:
    type: form
    token: ${WEBSITE_TOKEN}
"""


def rule(name: str, *, source: str = "website", assignee: str = "events@venue.example") -> str:
    """A rule creating a contact-owned task; an unknown ``assignee`` makes its delivery fail."""
    return f"""
  - name: {name}
    on: {{source: {source}}}
    contact:
      email: "{{{{ email }}}}"
      create: true
    task:
      name: "{name}: call {{{{ first_name }}}}"
      description: "{{{{ message }}}}"
      due: "+1 business day at 09:00"
      assignee: {assignee}
"""


def enquiry(number: int) -> dict[str, str]:
    """A website enquiry; each number is a different sender id and person."""
    return {
        "id": f"enquiry-{number}",
        "first_name": "Priya",
        "last_name": f"Raman{number}",
        "email": f"priya{number}@example.org",
        "message": "Wedding for 120 guests",
    }


class Bridge:
    """Runtimes built from config files, with ingest and worker runs against the sandbox."""

    def __init__(self, tmp_path: Path, database_url: str, sandbox: SandboxServer) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.sandbox = sandbox
        self._runtimes: list[Runtime] = []

    def config(self, name: str, rules: str, *, extra: str = "") -> Path:
        """Write ``<tmp>/<name>/bridge.yaml`` with these rules (and raw top-level ``extra``)."""
        directory = self.tmp_path / name
        directory.mkdir(exist_ok=True)
        return write_config(
            directory,
            ivvy_url=self.sandbox.url,
            rules=rules,
            extra_sources=PARTNER_SOURCE,
            delivery=extra,
        )

    def runtime(self, config: Path, *, at: datetime | None = None) -> Runtime:
        """A runtime on this database; its clock is fixed at ``at`` when given."""
        settings = Settings(database_url=self.database_url, config_path=str(config))
        clock: Callable[[], datetime] = (lambda: at) if at is not None else utc_now
        built = Runtime(settings=settings, config=load_config(config), clock=clock)
        self._runtimes.append(built)
        return built

    def post(
        self, runtime: Runtime, payload: Any, *, source: str = "website"
    ) -> tuple[int, dict[str, Any]]:
        """Deliver ``payload`` to /hooks/<source> through the real app; status and JSON answer."""
        client = create_app(runtime=runtime).test_client()
        if isinstance(payload, bytes):
            response = client.post(
                f"/hooks/{source}",
                data=payload,
                content_type="application/json",
                headers={"X-Bridge-Token": TOKEN},
            )
        else:
            response = client.post(
                f"/hooks/{source}", json=payload, headers={"X-Bridge-Token": TOKEN}
            )
        return response.status_code, response.get_json()

    def receive(self, runtime: Runtime, payload: Any, *, source: str = "website") -> str:
        """Deliver a new event and return its id."""
        status, answer = self.post(runtime, payload, source=source)
        assert status == 202, answer
        event_id: str = answer["event"]
        return event_id

    def work(self, runtime: Runtime) -> int:
        """Run every due job in this thread; how many ran."""
        return Worker(runtime, concurrency=1).run_pending()

    def tasks(self) -> list[dict[str, Any]]:
        """The tasks the sandbox iVvy holds (the seed's and the bridge's)."""
        found: list[dict[str, Any]] = requests.get(
            f"{self.sandbox.url}/_sandbox/tasks", timeout=5
        ).json()
        return found

    def bridge_tasks(self) -> list[dict[str, Any]]:
        """Tasks the bridge created: their description carries its marker."""
        return [t for t in self.tasks() if "[bridge " in (t.get("description") or "")]

    @property
    def engine(self) -> Engine:
        """An engine on the test database (the first runtime's)."""
        return self._runtimes[0].engine

    def count(self, table: Table, *conditions: Any) -> int:
        """Rows in ``table`` matching ``conditions``."""
        query = select(func.count()).select_from(table).where(*conditions)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        """Close every runtime's connections."""
        for built in self._runtimes:
            built.database.dispose()


def days_ago(days: float, *, now: datetime | None = None) -> datetime:
    """A moment ``days`` before ``now`` (default: the real now), aware UTC."""
    return (now or datetime.now(UTC)) - timedelta(days=days)
