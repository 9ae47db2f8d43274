"""The tasks the bridge made, found again by key or owner, and the actions applied to them.

Two things live here (tables in ``tables.py``, migration 0005):

* :func:`open_tasks`: the open tasks named rules created, by key and/or owner.
* :class:`ActionStore`: one ``task_actions`` row per (event, rule, task), the unit of
  "applied once"; its ``body`` is stored (durably, fenced) before the change is sent.
* The locks (the update_open key, one action at a time per task) are in ``task_locks``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine

from bridge.store.db import insert_or_nothing, reading, transaction
from bridge.store.queue import Lease
from bridge.store.states import ActionState, DeliveryState
from bridge.store.tables import deliveries, events, task_actions
from bridge.task_status import TaskStatus

# Not an iVvy status: what task_status says of a task the bridge found deleted in iVvy.
TASK_GONE = -1
CLOSED = (int(TaskStatus.CANCELLED), int(TaskStatus.COMPLETED), TASK_GONE)
_KEY_LENGTH = 255
_UPDATE_ACTION = update(task_actions).where(task_actions.c.id == bindparam("p_id"))


def stored_key(key: str) -> str:
    """The key as stored: itself, or its SHA-256 when longer than the column."""
    if len(key) <= _KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def is_open(status: int | None) -> bool:
    """Whether a task in this status is still open (None: not known, taken as open)."""
    return status is None or status not in CLOSED


@dataclass(frozen=True)
class TaskRef:
    """A task the bridge created: its delivery, and the body it was created with."""

    delivery_id: int
    task_id: int
    rule: str
    event_id: str
    body: dict[str, Any]
    status: int | None


def open_tasks(
    engine: Engine,
    rules: Sequence[str],
    *,
    key: str | None,
    owner: tuple[tuple[str, ...], int] | None,
    until: datetime,
    since: datetime | None = None,
) -> list[TaskRef]:
    """Tasks ``rules`` created (deliveries ``done``), open as far as the bridge knows.

    ``owner`` is (owner kinds, id).  Only tasks made for events received by ``until`` (the
    acting event's arrival: a replay never reaches a task made after it), and since
    ``since`` when given.
    """
    query = (
        select(
            deliveries.c.id,
            deliveries.c.task_id,
            deliveries.c.rule,
            deliveries.c.event_id,
            deliveries.c.task,
            deliveries.c.task_status,
        )
        .where(
            deliveries.c.rule.in_(list(rules)),
            deliveries.c.state == DeliveryState.DONE,
            deliveries.c.task_id.is_not(None),
            or_(deliveries.c.task_status.is_(None), deliveries.c.task_status.not_in(CLOSED)),
        )
        .order_by(deliveries.c.id)
    )
    if key is not None:
        query = query.where(deliveries.c.task_key == stored_key(key))
    if owner is not None:
        kinds, owner_id = owner
        query = query.where(
            deliveries.c.owner_id == owner_id, deliveries.c.owner_kind.in_(list(kinds))
        )
    query = query.join(events, events.c.id == deliveries.c.event_id).where(
        events.c.received_at <= until
    )
    if since is not None:
        query = query.where(events.c.received_at >= since)
    with reading(engine) as conn:
        rows = conn.execute(query).all()
    return [TaskRef(r[0], int(r[1]), r[2], r[3], dict(r[4] or {}), r[5]) for r in rows]


def set_task_status(engine: Engine, delivery_id: int, status: int, now: datetime) -> None:
    """Remember the status a task is in (after the bridge changed it, or found it changed)."""
    with transaction(engine, durable=False) as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(task_status=status, updated_at=now)
        )


def delivery_task(engine: Engine, delivery_id: int) -> tuple[str, TaskRef | None]:
    """A delivery's state, and its task once created (None before, or when it is gone)."""
    query = select(
        deliveries.c.state,
        deliveries.c.task_id,
        deliveries.c.rule,
        deliveries.c.event_id,
        deliveries.c.task,
        deliveries.c.task_status,
    ).where(deliveries.c.id == delivery_id)
    with reading(engine) as conn:
        row = conn.execute(query).one_or_none()
    if row is None:
        return DeliveryState.FAILED, None  # pruned: as good as gone
    if row[1] is None:
        return row[0], None
    return row[0], TaskRef(delivery_id, int(row[1]), row[2], row[3], dict(row[4] or {}), row[5])


@dataclass
class ActionRecord:
    """A task_actions row as the delivery code works with it; ``id`` None until written."""

    id: int | None
    event_id: str
    rule: str
    task_id: int
    delivery_id: int
    action: str
    state: ActionState
    body: dict[str, Any] | None = None
    status_before: int | None = None
    error: str | None = None


class ActionStore:
    """Reads and writes task_actions rows; each write is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_or_new(self, event_id: str, rule: str, task: TaskRef, action: str) -> ActionRecord:
        """The row for (event, rule, task), or a new pending record stored on first write."""
        query = select(task_actions).where(
            task_actions.c.event_id == event_id,
            task_actions.c.rule == rule,
            task_actions.c.task_id == task.task_id,
        )
        with reading(self.engine) as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return ActionRecord(
                None, event_id, rule, task.task_id, task.delivery_id, action, ActionState.PENDING
            )
        return ActionRecord(
            row["id"],
            row["event_id"],
            row["rule"],
            row["task_id"],
            row["delivery_id"],
            row["action"],
            ActionState(row["state"]),
            row["body"],
            row["status_before"],
            row["error"],
        )

    def update(
        self,
        record: ActionRecord,
        now: datetime,
        *,
        lease: Lease | None = None,
        durable: bool = True,
        **values: Any,
    ) -> None:
        """Write ``values`` (fenced on ``lease`` when given); the first write inserts the row.

        Two runs of one event at once cannot both hold its job's lease, so a conflict on
        insert means another run wrote first: LeaseLost-like, handled by the fence.
        """
        with transaction(self.engine, durable=durable) as conn:
            if lease is not None:
                lease.renew(conn, now)
            if record.id is None:
                row = {
                    "event_id": record.event_id,
                    "rule": record.rule,
                    "task_id": record.task_id,
                    "delivery_id": record.delivery_id,
                    "action": record.action,
                    "state": record.state,
                    "body": record.body,
                    "status_before": record.status_before,
                    "error": record.error,
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
                conn.execute(insert_or_nothing(task_actions, conn.dialect.name), row)
                record.id = conn.execute(
                    select(task_actions.c.id).where(
                        task_actions.c.event_id == record.event_id,
                        task_actions.c.rule == record.rule,
                        task_actions.c.task_id == record.task_id,
                    )
                ).scalar_one()
            else:
                conn.execute(_UPDATE_ACTION, {"p_id": record.id, "updated_at": now, **values})
        for name, value in values.items():
            setattr(record, name, value)
