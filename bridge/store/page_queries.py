"""Read-side queries only the status pages ask (the shared ones are in ``bridge.store.queries``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from bridge.store.db import reading
from bridge.store.states import NEEDS_A_PERSON, DeliveryState, JobState
from bridge.store.tables import deliveries, events, jobs, task_actions


@dataclass
class SourceCounts:
    """One source's numbers over the last hour and the last day."""

    received: list[int]
    tasks: list[int]
    failed: list[int]
    dead: list[int]

    @classmethod
    def zero(cls) -> SourceCounts:
        """All counts zero."""
        return cls([0, 0], [0, 0], [0, 0], [0, 0])


def _per_source(
    conn: Connection,
    source: ColumnElement[Any],
    at: ColumnElement[Any],
    *where: ColumnElement[bool],
    hour_ago: datetime,
    day_ago: datetime,
    join: Any = None,
) -> dict[str, list[int]]:
    """``{source: [count in the last hour, count in the last day]}`` of rows timed by ``at``."""
    in_hour = func.sum(case((at >= hour_ago, 1), else_=0))
    query = select(source, in_hour, func.count()).where(at >= day_ago, *where).group_by(source)
    if join is not None:
        query = query.select_from(join)
    return {row[0]: [int(row[1] or 0), int(row[2])] for row in conn.execute(query)}


def overview_counts(
    engine: Engine, *, hour_ago: datetime, day_ago: datetime
) -> dict[str, SourceCounts]:
    """Per source: events received, tasks created, events needing a person, dead jobs."""
    windows = {"hour_ago": hour_ago, "day_ago": day_ago}
    with reading(engine) as conn:
        received = _per_source(conn, events.c.source, events.c.received_at, **windows)
        tasks = _per_source(
            conn,
            events.c.source,
            deliveries.c.updated_at,
            deliveries.c.state == DeliveryState.DONE,
            deliveries.c.task_id.is_not(None),
            join=deliveries.join(events, events.c.id == deliveries.c.event_id),
            **windows,
        )
        failed = _per_source(
            conn,
            events.c.source,
            events.c.updated_at,
            events.c.state.in_(NEEDS_A_PERSON),
            **windows,
        )
        dead = _per_source(
            conn,
            events.c.source,
            jobs.c.finished_at,
            jobs.c.state == JobState.DEAD,
            join=jobs.join(events, events.c.id == jobs.c.event_id),
            **windows,
        )
    out: dict[str, SourceCounts] = {}
    for name in {*received, *tasks, *failed, *dead}:
        out[name] = SourceCounts(
            received.get(name, [0, 0]),
            tasks.get(name, [0, 0]),
            failed.get(name, [0, 0]),
            dead.get(name, [0, 0]),
        )
    return out


def list_details(engine: Engine, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For the event list: each event's matched rules, task ids and job runs."""
    details: dict[str, dict[str, Any]] = {
        event_id: {"rules": [], "task_ids": [], "attempts": 0} for event_id in event_ids
    }
    if not event_ids:
        return details
    with reading(engine) as conn:
        for row in conn.execute(
            select(deliveries.c.event_id, deliveries.c.rule, deliveries.c.task_id)
            .where(deliveries.c.event_id.in_(list(event_ids)))
            .order_by(deliveries.c.id)
        ):
            details[row.event_id]["rules"].append(row.rule)
            if row.task_id is not None:
                details[row.event_id]["task_ids"].append(row.task_id)
        for event_id, runs in conn.execute(
            select(jobs.c.event_id, func.sum(jobs.c.attempts))
            .where(jobs.c.event_id.in_(list(event_ids)))
            .group_by(jobs.c.event_id)
        ):
            details[event_id]["attempts"] = int(runs or 0)
    return details


@dataclass(frozen=True)
class StoredBody:
    """The delivery as it arrived: where, its content type and its bytes."""

    source: str
    content_type: str
    body: bytes


def stored_body(engine: Engine, event_id: str) -> StoredBody | None:
    """The raw body an event arrived with, for the preview page; None when unknown."""
    with reading(engine) as conn:
        row = conn.execute(
            select(events.c.source, events.c.content_type, events.c.body).where(
                events.c.id == event_id
            )
        ).one_or_none()
    if row is None:
        return None
    return StoredBody(row.source, row.content_type or "application/json", bytes(row.body))


_ACTION_COLUMNS = (
    task_actions.c.event_id,
    task_actions.c.rule,
    task_actions.c.task_id,
    task_actions.c.delivery_id,
    task_actions.c.action,
    task_actions.c.state,
    task_actions.c.status_before,
    task_actions.c.body,
    task_actions.c.error,
    task_actions.c.updated_at,
)


def task_changes(engine: Engine, delivery_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """For each delivery's task: the later events' actions on it (which event, how), in order."""
    found: dict[int, list[dict[str, Any]]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    query = (
        select(*_ACTION_COLUMNS, events.c.source, events.c.kind, events.c.received_at)
        .join(events, events.c.id == task_actions.c.event_id)
        .where(task_actions.c.delivery_id.in_(list(delivery_ids)))
        .order_by(events.c.received_at, task_actions.c.id)
    )
    with reading(engine) as conn:
        for row in conn.execute(query).mappings():
            found[row["delivery_id"]].append(dict(row))
    return found


def event_actions(engine: Engine, event_id: str) -> list[dict[str, Any]]:
    """What this event's rules did to tasks made earlier, with the event each task was made for."""
    query = (
        select(*_ACTION_COLUMNS, deliveries.c.event_id.label("task_event_id"))
        .join(deliveries, deliveries.c.id == task_actions.c.delivery_id, isouter=True)
        .where(task_actions.c.event_id == event_id)
        .order_by(task_actions.c.id)
    )
    with reading(engine) as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
