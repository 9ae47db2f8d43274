"""The deliveries table: one row per (event, rule), the unit of "exactly one task"."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from bridge.store.db import insert_or_nothing, one_statement, reading, transaction
from bridge.store.driver_statements import execute
from bridge.store.queue import Lease, Write, renewed_cte
from bridge.store.states import DeliveryState
from bridge.store.tables import deliveries

# Built once (see bridge/store/queue.py).  The SET clause of _UPDATE comes from the
# parameter names given at execution; the compiled form is cached per set of names.
_SELECT = select(deliveries).where(
    deliveries.c.event_id == bindparam("p_event_id"), deliveries.c.rule == bindparam("p_rule")
)
_UPDATE = update(deliveries).where(deliveries.c.id == bindparam("p_id"))


# A second run of the same event inserting the same (event, rule) finds its row
# taken: ON CONFLICT DO NOTHING returns no id, instead of an error that would need
# a savepoint around the insert.
@functools.cache
def _insert(dialect: str) -> Insert:
    return insert_or_nothing(deliveries, dialect).returning(deliveries.c.id)


@functools.cache
def _insert_if_renewed_statement(keys: tuple[str, ...]) -> Select[tuple[Any, Any]]:
    """PostgreSQL: the lease's renewal and the row's insert as one statement, per set of keys.

    Returns one row: the renewed job's id (null: the lease is lost, nothing written) and the
    inserted row's (null: the row was taken).  Parameters: the lease's, and ``d_<column>``.
    """
    renewed = renewed_cte()
    # Each parameter has its column's type (written ``::type``); ``d_``: SQLAlchemy keeps
    # column names for the SET and VALUES clauses.
    values = select(
        *(bindparam(f"d_{key}", type_=deliveries.c[key].type) for key in keys)
    ).select_from(renewed)
    inserted = (
        insert_or_nothing(deliveries, "postgresql")
        .from_select(keys, values)
        .returning(deliveries.c.id)
        .cte("inserted")
    )
    return select(
        select(renewed.c.id).scalar_subquery().label("renewed"),
        select(inserted.c.id).scalar_subquery().label("inserted"),
    )


def _row(record: DeliveryRecord, now: datetime, values: Mapping[str, Any]) -> dict[str, Any]:
    """The row a record is first stored as, with ``values`` written over it."""
    return {
        "event_id": record.event_id,
        "rule": record.rule,
        "state": record.state,
        "marker": record.marker,
        "contact_id": record.contact_id,
        "lead_id": record.lead_id,
        "task_id": record.task_id,
        "task": record.task,
        "error": record.error,
        "task_key": record.task_key,
        "task_status": record.task_status,
        "open_task_of": record.open_task_of,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def marker_for(event_id: str, rule: str) -> str:
    """The reference written into what the bridge creates, to find it again after a lost answer."""
    digest = hashlib.sha1(rule.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"[bridge {event_id} {digest}]"


@dataclass
class DeliveryRecord:
    """A delivery row as the runner works with it; ``id`` is None until first written."""

    id: int | None
    event_id: str
    rule: str
    state: DeliveryState
    marker: str
    contact_id: int | None
    lead_id: int | None
    task_id: int | None
    task: dict[str, Any] | None
    error: str | None
    task_key: str | None = None  # the rendered task.key (hashed when longer than 255)
    task_status: int | None = None  # the task's status as the bridge last knew it
    open_task_of: int | None = None  # update_open: the delivery whose task this event updated


def _record(row: Mapping[Any, Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=row["id"],
        event_id=row["event_id"],
        rule=row["rule"],
        state=row["state"],
        marker=row["marker"],
        contact_id=row["contact_id"],
        lead_id=row["lead_id"],
        task_id=row["task_id"],
        task=row["task"],
        error=row["error"],
        task_key=row["task_key"],
        task_status=row["task_status"],
        open_task_of=row["open_task_of"],
    )


class DeliveryConflict(Exception):
    """Another run created this delivery's row first: two runs of one event at once."""


class DeliveryStore:
    """Reads and writes delivery rows; every write is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_or_new(
        self, event_id: str, rule: str, known: Mapping[str, Mapping[str, Any]] | None = None
    ) -> DeliveryRecord:
        """The row for (event, rule), or a new pending record that is stored on first write.

        ``known``: the event's rows by rule as the job's claim read them (in its own
        transaction, a moment earlier); then nothing is read here.  Nothing is written
        for a delivery before the first step that must be remembered (a fenced write
        before iVvy creates something).
        """
        if known is None:
            found = self._get(event_id, rule)
        else:
            row = known.get(rule)
            found = _record(row) if row is not None else None
        if found is not None:
            return found
        return DeliveryRecord(
            id=None,
            event_id=event_id,
            rule=rule,
            state=DeliveryState.PENDING,
            marker=marker_for(event_id, rule),
            contact_id=None,
            lead_id=None,
            task_id=None,
            task=None,
            error=None,
        )

    def _get(self, event_id: str, rule: str) -> DeliveryRecord | None:
        with reading(self.engine) as conn:
            row = (
                conn.execute(_SELECT, {"p_event_id": event_id, "p_rule": rule})
                .mappings()
                .one_or_none()
            )
        return _record(row) if row is not None else None

    def update(
        self,
        record: DeliveryRecord,
        now: datetime,
        *,
        lease: Lease | None = None,
        durable: bool = True,
        **values: Any,
    ) -> None:
        """Write ``values`` to the row (and to the record) before the next step runs.

        With a ``lease``, the write happens only if the job is still this worker's
        (renewing it in the same transaction); LeaseLost otherwise.  A record
        never written before is inserted; DeliveryConflict if another run did first.
        ``durable=False`` only for a write whose loss a re-run survives (see
        ``bridge.store.db.transaction``).
        """
        if lease is not None and durable and record.id is None and self._postgres:
            # The creating_task write (and a lead's or contact's first): one round trip.
            record.id = self._insert_if_renewed(record, now, lease, values)
        else:
            with transaction(self.engine, durable=durable) as conn:
                if lease is not None:
                    lease.renew(conn, now)
                if record.id is None:
                    record.id = self.insert(conn, record, now, values)
                else:
                    execute(conn, _UPDATE, {"p_id": record.id, "updated_at": now, **values})
        for key, value in values.items():
            if hasattr(record, key):
                setattr(record, key, value)

    def _insert_if_renewed(
        self, record: DeliveryRecord, now: datetime, lease: Lease, values: Mapping[str, Any]
    ) -> int:
        """PostgreSQL: renew the lease and insert the row in one statement, in autocommit.

        In a transaction that is four round trips (``BEGIN``, the renewal, the insert,
        ``COMMIT``).  The insert reads the renewal's row, so it writes nothing when the lease
        is lost.  One difference: when the row is taken (DeliveryConflict) the renewal stays
        committed, which only extends a lease this worker holds anyway.
        """
        row = _row(record, now, values)
        params = {f"d_{key}": value for key, value in row.items()}
        params.update(lease.renewal(now))
        statement = _insert_if_renewed_statement(tuple(row))
        with one_statement(self.engine) as conn:
            renewed, inserted = execute(conn, statement, params).one()
        if renewed is None:
            raise lease.lost()
        if inserted is None:
            raise DeliveryConflict(f"another run is delivering rule {record.rule} of this event")
        return int(inserted)

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @staticmethod
    def insert(conn: Connection, record: DeliveryRecord, now: datetime, values: Any) -> int:
        inserted = execute(
            conn, _insert(conn.dialect.name), _row(record, now, values)
        ).scalar_one_or_none()
        if inserted is None:
            raise DeliveryConflict(f"another run is delivering rule {record.rule} of this event")
        return int(inserted)

    def done(
        self,
        record: DeliveryRecord,
        task_id: int | None,
        now: datetime,
        state: DeliveryState = DeliveryState.DONE,
    ) -> Write:
        """The write that marks the delivery done (or ``acted``), for the settling transaction.

        A created task is open: its status is the body's, else 0 (Not Started).
        """
        assert record.id is not None, "a task is created only after the delivery was stored"
        values: dict[str, Any] = {"state": state, "task_id": task_id, "error": None}
        if state == DeliveryState.DONE:
            values["task_status"] = int((record.task or {}).get("status") or 0)
        for key, value in values.items():
            setattr(record, key, value)
        return _UPDATE, {"p_id": record.id, **values, "updated_at": now}
