"""What a backtest reads: a source's newest stored events and what happened to each.

Read only.  For each event: its state, the normalised Event as stored (None for an
``invalid`` one) and one row per rule that matched when it ran (``deliveries``), with the
actions that rule took on earlier tasks (``task_actions``: a complete, cancel or update
rule's, or an ``update_open`` task's update of its key's open task).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bridge.store.db import reading
from bridge.store.tables import deliveries, events, task_actions
from bridge.store.types import StoredRequest

# A backtest is a look at recent traffic, not a batch job over the whole inbox.
MAX_LAST = 1000


@dataclass(frozen=True)
class StoredAction:
    """One action a rule took on one earlier task: its kind, the task, how it ended."""

    action: str  # complete | cancel | update
    task_id: int
    state: str  # bridge.store.states.ActionState
    error: str | None


@dataclass(frozen=True)
class StoredDelivery:
    """What one matched rule did with the event: its state, its task or its error."""

    rule: str
    state: str
    task_id: int | None
    task: dict[str, Any] | None
    error: str | None
    task_key: str | None = None  # as stored (long keys hashed)
    actions: tuple[StoredAction, ...] = ()


@dataclass(frozen=True)
class StoredRun:
    """One stored event and its deliveries, by rule name."""

    id: str
    received_at: datetime
    state: str
    event: dict[str, Any] | None
    last_error: str | None
    deliveries: dict[str, StoredDelivery] = field(default_factory=dict)
    request: StoredRequest | None = None  # the event's raw is rebuilt from its body


def recent_runs(engine: Engine, source: str, last: int) -> list[StoredRun]:
    """The ``last`` newest events of ``source`` (newest first), with their deliveries."""
    last = max(1, min(last, MAX_LAST))
    query = (
        select(
            events.c.id,
            events.c.received_at,
            events.c.state,
            events.c.event,
            events.c.last_error,
            events.c.body,
            events.c.headers,
            events.c.content_type,
        )
        .where(events.c.source == source)
        .order_by(events.c.received_at.desc(), events.c.id.desc())
        .limit(last)
    )
    with reading(engine) as conn:
        rows = list(conn.execute(query).mappings())
        ids = [row["id"] for row in rows]
        by_event: dict[str, dict[str, StoredDelivery]] = {event_id: {} for event_id in ids}
        if ids:
            found = conn.execute(
                select(
                    deliveries.c.event_id,
                    deliveries.c.rule,
                    deliveries.c.state,
                    deliveries.c.task_id,
                    deliveries.c.task,
                    deliveries.c.error,
                    deliveries.c.task_key,
                ).where(deliveries.c.event_id.in_(ids))
            ).mappings()
            acted = _actions(conn, ids)
            for d in found:
                by_event[d["event_id"]][d["rule"]] = StoredDelivery(
                    d["rule"], d["state"], d["task_id"], d["task"], d["error"], d["task_key"],
                    tuple(acted.get((d["event_id"], d["rule"]), ())),
                )  # fmt: skip
    return [
        StoredRun(
            id=row["id"],
            received_at=row["received_at"],
            state=row["state"],
            event=row["event"],
            last_error=row["last_error"],
            deliveries=by_event[row["id"]],
            request=StoredRequest.of(row["body"], row["headers"], row["content_type"]),
        )
        for row in rows
    ]


def _actions(conn: Connection, ids: list[str]) -> dict[tuple[str, str], list[StoredAction]]:
    """The task_actions rows of these events, by (event, rule), in the order they were taken."""
    rows = conn.execute(
        select(
            task_actions.c.event_id,
            task_actions.c.rule,
            task_actions.c.action,
            task_actions.c.task_id,
            task_actions.c.state,
            task_actions.c.error,
        )
        .where(task_actions.c.event_id.in_(ids))
        .order_by(task_actions.c.id)
    ).mappings()
    found: dict[tuple[str, str], list[StoredAction]] = {}
    for row in rows:
        found.setdefault((row["event_id"], row["rule"]), []).append(
            StoredAction(row["action"], int(row["task_id"]), row["state"], row["error"])
        )
    return found
