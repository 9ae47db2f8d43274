"""The tasks the bridge made, found again by key or owner, and the actions applied to them.

Three things live here (tables in ``tables.py``, migration 0005):

* :func:`open_tasks`: the open tasks named rules created, by key and/or owner.
* :class:`ActionStore`: one ``task_actions`` row per (event, rule, task), the unit of
  "applied once"; its ``body`` is stored (durably, fenced) before the change is sent.
* :func:`claim_open_task`: for an ``update_open`` rule, which delivery's task is its key's
  open one, decided under a lock on the key's ``task_keys`` row, so that two events for one
  key at once end with one task (the second updates what the first creates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bridge.store.db import transaction
from bridge.store.deliveries import DeliveryRecord, DeliveryStore
from bridge.store.queue import Lease
from bridge.store.states import ActionState, DeliveryState
from bridge.store.tables import deliveries, events, task_actions, task_keys
from bridge.task_status import TaskStatus

# Not an iVvy status: what task_status says of a task the bridge found deleted in iVvy.
TASK_GONE = -1
CLOSED = (int(TaskStatus.CANCELLED), int(TaskStatus.COMPLETED), TASK_GONE)
_KEY_LENGTH = 255
_UPDATE_ACTION = update(task_actions).where(task_actions.c.id == bindparam("p_id"))
_INSERT_ACTION = {
    "sqlite": sqlite.insert(task_actions).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(task_actions).on_conflict_do_nothing(),
}
_INSERT_KEY = {
    "sqlite": sqlite.insert(task_keys).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(task_keys).on_conflict_do_nothing(),
}


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
    with engine.connect() as conn:
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


def lock_task(engine: Engine, delivery_id: int, holder: str, now: datetime, seconds: float) -> bool:
    """Take the task of ``delivery_id`` for ``holder`` until ``now + seconds``; False if taken.

    An action reads the task and sends a whole new description: two at once would each drop
    the other's line.  The lock is a column with an expiry, so a killed worker's lock lapses.
    """
    free = or_(
        deliveries.c.task_locked_by.is_(None),
        deliveries.c.task_locked_by == holder,
        deliveries.c.task_locked_until < now,
    )
    with transaction(engine, durable=False) as conn:
        taken = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, free)
            .values(task_locked_by=holder, task_locked_until=now + timedelta(seconds=seconds))
        )
    return taken.rowcount == 1


def unlock_task(engine: Engine, delivery_id: int, holder: str) -> None:
    """Let go of the task's lock (nothing if another holder has it by now)."""
    with transaction(engine, durable=False) as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.task_locked_by == holder)
            .values(task_locked_by=None, task_locked_until=None)
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
    with engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    if row is None:
        return DeliveryState.FAILED, None  # pruned: as good as gone
    if row[1] is None:
        return row[0], None
    return row[0], TaskRef(delivery_id, int(row[1]), row[2], row[3], dict(row[4] or {}), row[5])


def claim_open_task(
    engine: Engine,
    record: DeliveryRecord,
    *,
    key: str,
    within_days: int | None,
    received_at: datetime,
    now: datetime,
    lease: Lease | None,
) -> int | None:
    """The delivery whose task this event updates, or None: this one creates the key's task.

    Decided under a lock on the key's row (``SELECT ... FOR UPDATE`` on PostgreSQL; the
    whole database on SQLite, whose write transactions start with ``BEGIN IMMEDIATE``),
    and stored on the delivery in the same commit, so every run of the event agrees.  A
    holder that failed, whose task is closed, or whose event is older than ``within_days``
    is replaced by this delivery.
    """
    stored = stored_key(key)
    where = and_(task_keys.c.rule == record.rule, task_keys.c.key == stored)
    with transaction(engine) as conn:
        if lease is not None:
            lease.renew(conn, now)
        conn.execute(
            _INSERT_KEY[conn.dialect.name],
            {"rule": record.rule, "key": stored, "delivery_id": None, "updated_at": now},
        )
        holder = conn.execute(
            select(task_keys.c.delivery_id).where(where).with_for_update()
        ).scalar_one()
        target: int | None = None
        if holder is not None and holder != record.id:
            row = conn.execute(
                select(deliveries.c.state, deliveries.c.task_status, events.c.received_at)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(deliveries.c.id == holder)
            ).one_or_none()
            recent = row is not None and (
                within_days is None or received_at - row[2] <= timedelta(days=within_days)
            )
            if row is not None and row[0] != DeliveryState.FAILED and is_open(row[1]) and recent:
                target = holder
        values = {"task_key": stored, "open_task_of": target}
        if record.id is None:
            record.id = DeliveryStore.insert(conn, record, now, values)
        else:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == record.id)
                .values(**values, updated_at=now)
            )
        if target is None:
            conn.execute(
                update(task_keys).where(where).values(delivery_id=record.id, updated_at=now)
            )
    record.task_key, record.open_task_of = stored, target
    return target


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
        with self.engine.connect() as conn:
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
                conn.execute(_INSERT_ACTION[conn.dialect.name], row)
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
