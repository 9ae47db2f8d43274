"""Reading back what the bridge stored, for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bridge.store.tables import deliveries, events, jobs


def event_row(engine: Engine, event_id: str) -> dict[str, Any]:
    """The event's row, without its body."""
    with engine.connect() as conn:
        row = conn.execute(
            select(events.c.id, events.c.state, events.c.rules_digest, events.c.last_error).where(
                events.c.id == event_id
            )
        ).one()
    return dict(row._mapping)


def jobs_of(engine: Engine, event_id: str) -> list[dict[str, Any]]:
    """The event's jobs, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(jobs).where(jobs.c.event_id == event_id).order_by(jobs.c.id))
        return [dict(row._mapping) for row in rows]


def deliveries_of(engine: Engine, event_id: str) -> list[dict[str, Any]]:
    """The event's deliveries, in the order they were created."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries).where(deliveries.c.event_id == event_id).order_by(deliveries.c.id)
        )
        return [dict(row._mapping) for row in rows]
