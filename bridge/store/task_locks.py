"""Who may change a task the bridge made, and when: the update_open key lock and the task lock.

* :func:`claim_open_task`: for an ``update_open`` rule, which delivery's task is its key's
  open one, decided under a lock on the key's ``task_keys`` row, so that two events for one
  key at once end with one task (the second updates what the first creates).
* :func:`lock_task` / :func:`unlock_task`: one action at a time on a task (a lock with an
  expiry on its delivery row, never a transaction held open across HTTP calls).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from bridge.store.db import insert_or_nothing, transaction
from bridge.store.deliveries import DeliveryRecord, DeliveryStore
from bridge.store.queue import Lease
from bridge.store.states import DeliveryState
from bridge.store.tables import deliveries, events, task_keys
from bridge.store.task_actions import is_open, stored_key


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
            insert_or_nothing(task_keys, conn.dialect.name),
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
