"""A bridge web process under test (real gunicorn) and what its database holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from bridge.store.db import build_engine
from bridge.store.tables import dedupe_keys, events, jobs

TYPEFORM_SECRET = "typeform-secret-for-ingest-tests"
# ``whsec_`` + base64 of 24 bytes, the shape Svix and friends hand out.
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

SIGNED_SOURCES = f"""
  typeform-form:
    type: typeform
    secret: {TYPEFORM_SECRET}
  svix-app:
    type: standard-webhooks
    secret: {STANDARD_SECRET}
"""


@dataclass
class RunningBridge:
    """The base URL of a gunicorn serving the bridge, and its database."""

    url: str
    database_url: str
    env: dict[str, str]
    _engine: Engine | None = field(default=None, repr=False)

    def hook(self, source: str) -> str:
        """The ingest URL of a source."""
        return f"{self.url}/hooks/{source}"

    @property
    def engine(self) -> Engine:
        """An engine of the test's own on the bridge's database."""
        if self._engine is None:
            self._engine = build_engine(self.database_url)
        return self._engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (or sabotaging) the bridge's database."""
        with self.engine.connect() as conn:
            yield conn

    def counts(self) -> dict[str, int]:
        """Rows in the inbox tables: events, dedupe keys, jobs."""
        with self.connect() as conn:
            tables = {"events": events, "dedupe_keys": dedupe_keys, "jobs": jobs}
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in tables.items()
            }

    @contextmanager
    def stores_nothing(self) -> Iterator[None]:
        """Assert that the block adds no event, dedupe key or job."""
        before = self.counts()
        yield
        assert self.counts() == before

    def event(self, event_id: str) -> dict[str, Any]:
        """One stored event row."""
        with self.connect() as conn:
            return dict(conn.execute(select(events).where(events.c.id == event_id)).one()._mapping)

    def events(self) -> list[dict[str, Any]]:
        """Every stored event row, oldest first."""
        with self.connect() as conn:
            rows = conn.execute(select(events).order_by(events.c.received_at, events.c.id))
            return [dict(row._mapping) for row in rows]

    def jobs_of(self, event_id: str) -> int:
        """How many jobs point at an event."""
        with self.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.event_id == event_id)
            ).scalar_one()

    def events_without_a_job(self) -> list[str]:
        """Ids of accepted (not ``invalid``) events that have no job: must always be empty."""
        with self.connect() as conn:
            orphaned = select(events.c.id).where(
                events.c.state != "invalid",
                ~select(jobs.c.id).where(jobs.c.event_id == events.c.id).exists(),
            )
            return list(conn.execute(orphaned).scalars())

    def close(self) -> None:
        """Release the test's own connections."""
        if self._engine is not None:
            self._engine.dispose()


StartBridge = Callable[..., RunningBridge]
