"""The circuit breaker's open periods: written by each worker, read by the status pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine

from bridge.store.db import reading
from bridge.store.tables import circuit_periods


def record_opened(engine: Engine, worker: str, at: datetime) -> int:
    """A period starts; returns its id (for :func:`record_closed`)."""
    with engine.begin() as conn:
        row = conn.execute(
            insert(circuit_periods)
            .values(worker=worker, opened_at=at)
            .returning(circuit_periods.c.id)
        ).scalar_one()
    return int(row)


def record_closed(engine: Engine, period_id: int, at: datetime) -> None:
    """The period ends (a no-op if it was closed already)."""
    with engine.begin() as conn:
        conn.execute(
            update(circuit_periods)
            .where(circuit_periods.c.id == period_id, circuit_periods.c.closed_at.is_(None))
            .values(closed_at=at)
        )


def close_open_periods(engine: Engine, worker: str, at: datetime) -> None:
    """A worker stopping ends its open periods: nobody holds back on its behalf any more."""
    with engine.begin() as conn:
        conn.execute(
            update(circuit_periods)
            .where(circuit_periods.c.worker == worker, circuit_periods.c.closed_at.is_(None))
            .values(closed_at=at)
        )


def open_periods(engine: Engine, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Periods overlapping ``[since, until]``, oldest first; ``closed_at`` None while open."""
    query = (
        select(circuit_periods.c.worker, circuit_periods.c.opened_at, circuit_periods.c.closed_at)
        .where(
            circuit_periods.c.opened_at <= until,
            or_(circuit_periods.c.closed_at.is_(None), circuit_periods.c.closed_at >= since),
        )
        .order_by(circuit_periods.c.opened_at)
    )
    with reading(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
