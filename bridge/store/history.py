"""The status pages' history: per source and per hour, and the queue over the same hours.

Everything here is derived from stored timestamps (events, deliveries, attempts,
jobs), except the circuit breaker's periods, which workers record in their own
table (``store.circuit_log``).  Queue depth and the oldest waiting job count a
job as waiting from its creation to its end (done or dead), retries included:
the stored rows do not say when a job was running.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from bridge.store.circuit_log import open_periods
from bridge.store.db import reading
from bridge.store.states import DeliveryState, EventState
from bridge.store.tables import attempts, deliveries, events, jobs

HOUR = timedelta(hours=1)
SERIES = ("received", "tasks", "failures")
SPANS = {"24h": 24, "7d": 24 * 7}  # hours
_KEY_FORMAT = "%Y-%m-%dT%H"


@dataclass
class History:
    """Hourly buckets from ``start`` (on the hour) to ``end`` (now; the last one is partial)."""

    start: datetime
    end: datetime
    hours: int
    # {source: {"received" | "tasks" | "failures": [count per hour]}}
    sources: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    depth: list[int] = field(default_factory=list)  # most jobs waiting at once, per hour
    oldest: list[float] = field(default_factory=list)  # longest wait seen, seconds, per hour
    # Circuit-open periods clipped to the span; an end of None means "still open".
    circuit: list[tuple[datetime, datetime | None, str]] = field(default_factory=list)

    def bucket_start(self, index: int) -> datetime:
        """When hour ``index`` starts."""
        return self.start + index * HOUR


def span_start(now: datetime, hours: int) -> datetime:
    """The start of the first of ``hours`` hourly buckets whose last one holds ``now``."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - (hours - 1) * HOUR


def _hour_key(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC hour of a timestamp as ``YYYY-MM-DDTHH`` text, on either database."""
    if dialect == "sqlite":  # stored as naive UTC text
        return func.strftime(_KEY_FORMAT, column)
    return func.to_char(func.date_trunc("hour", func.timezone("UTC", column)), 'YYYY-MM-DD"T"HH24')


def _hourly(
    conn: Connection,
    history: History,
    series: str,
    at: ColumnElement[Any],
    *where: ColumnElement[bool],
    join: Any = None,
) -> None:
    """Add the counts of rows timed by ``at`` to ``series``, per source and hour."""
    hour = _hour_key(conn.dialect.name, at).label("hour")
    query = (
        select(events.c.source, hour, func.count())
        .where(at >= history.start, at <= history.end, *where)
        .group_by(events.c.source, hour)
    )
    if join is not None:
        query = query.select_from(join)
    for source, key, count in conn.execute(query):
        when = datetime.strptime(key, _KEY_FORMAT).replace(tzinfo=UTC)
        index = int((when - history.start) / HOUR)
        if 0 <= index < history.hours:
            per_source = history.sources.setdefault(
                source, {name: [0] * history.hours for name in SERIES}
            )
            per_source[series][index] += int(count)


def _queue(conn: Connection, history: History) -> None:
    """Per hour: the most jobs waiting at once, and the longest any had waited."""
    rows = conn.execute(
        select(jobs.c.created_at, jobs.c.finished_at)
        .where(
            jobs.c.created_at <= history.end,
            or_(jobs.c.finished_at.is_(None), jobs.c.finished_at >= history.start),
        )
        .order_by(jobs.c.created_at)
    ).all()
    n = history.hours
    depth, oldest = [0] * n, [0.0] * n
    changes: list[tuple[datetime, int]] = []
    waiting_at_start = 0
    for created, finished in rows:
        if created < history.start:
            waiting_at_start += 1
        else:
            changes.append((created, 1))
        if finished is not None and finished <= history.end:
            changes.append((finished, -1))
            index = int((finished - history.start) / HOUR)
            if 0 <= index < n:  # a job that ends in this hour waited this long in it
                oldest[index] = max(oldest[index], (finished - created).total_seconds())
    changes.sort(key=lambda change: (change[0], change[1]))  # ends before starts at a tie
    current, position = waiting_at_start, 0
    alive: list[tuple[datetime, datetime]] = []  # (created, finished or far future), a heap
    forever = history.end + HOUR
    pending = iter(rows)
    next_row = next(pending, None)
    for index in range(n):
        bucket_end = min(history.bucket_start(index + 1), history.end)
        peak = current
        while position < len(changes) and changes[position][0] < bucket_end:
            current += changes[position][1]
            peak = max(peak, current)
            position += 1
        depth[index] = peak
        while next_row is not None and next_row[0] < bucket_end:
            heapq.heappush(alive, (next_row[0], next_row[1] or forever))
            next_row = next(pending, None)
        while alive and alive[0][1] <= bucket_end:
            heapq.heappop(alive)
        if alive:
            oldest[index] = max(oldest[index], (bucket_end - alive[0][0]).total_seconds())
    history.depth, history.oldest = depth, oldest


def load_history(engine: Engine, *, now: datetime, hours: int) -> History:
    """The last ``hours`` hours up to ``now``, per source and for the queue."""
    history = History(start=span_start(now, hours), end=now, hours=hours)
    with reading(engine) as conn:
        _hourly(conn, history, "received", events.c.received_at)
        _hourly(
            conn,
            history,
            "tasks",
            deliveries.c.updated_at,
            deliveries.c.state == DeliveryState.DONE,
            deliveries.c.task_id.is_not(None),
            join=deliveries.join(events, events.c.id == deliveries.c.event_id),
        )
        # Failures: iVvy calls that failed (refused, timed out, 5xx), and deliveries that
        # were authentic but could not be parsed (stored as invalid events).
        _hourly(
            conn,
            history,
            "failures",
            attempts.c.started_at,
            attempts.c.error.is_not(None),
            join=attempts.join(events, events.c.id == attempts.c.event_id),
        )
        _hourly(
            conn, history, "failures", events.c.received_at, events.c.state == EventState.INVALID
        )
        _queue(conn, history)
    history.circuit = [
        (max(row["opened_at"], history.start), row["closed_at"], row["worker"])
        for row in open_periods(engine, since=history.start, until=history.end)
    ]
    return history
