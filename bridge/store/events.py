"""The events table as the worker writes it: an event's state after a run; its payload read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine

from bridge.store.db import reading
from bridge.store.queue import Write
from bridge.store.states import EventState
from bridge.store.tables import events
from bridge.store.types import StoredRequest

# The event's state after a run, and (on its first run only) the rules it ran with.
_SET_EVENT = (
    update(events)
    .where(events.c.id == bindparam("p_event_id"))
    .values(
        state=bindparam("p_state"),
        last_error=bindparam("p_error", type_=events.c.last_error.type),
        updated_at=bindparam("p_now", type_=events.c.updated_at.type),
        rules_digest=func.coalesce(
            events.c.rules_digest, bindparam("p_digest", type_=events.c.rules_digest.type)
        ),
    )
)


_PAYLOAD_COLUMNS = (
    events.c.event,
    events.c.rules_digest,
    events.c.body,
    events.c.headers,
    events.c.content_type,
)


def event_write(
    event_id: str, state: EventState, error: str | None, now: datetime, digest: str | None = None
) -> Write:
    """The event's new state and error, and (on its first run only) the rules it ran with."""
    params = {
        "p_event_id": event_id,
        "p_state": state,
        "p_error": error,
        "p_now": now,
        "p_digest": digest,
    }
    return _SET_EVENT, params


def event_payload(
    engine: Engine, event_id: str
) -> tuple[dict[str, Any] | None, str | None, StoredRequest | None]:
    """The normalised Event (as JSON), the rules digest it first ran with, and its request."""
    with reading(engine) as conn:
        row = conn.execute(select(*_PAYLOAD_COLUMNS).where(events.c.id == event_id)).one_or_none()
    if row is None:
        return None, None, None
    return row[0], row[1], StoredRequest.of(row[2], row[3], row[4])


def stored_request(engine: Engine, event_id: str) -> StoredRequest | None:
    """The request an event came in, as stored (the pages rebuild its ``raw`` from it)."""
    with reading(engine) as conn:
        row = conn.execute(
            select(*_PAYLOAD_COLUMNS[2:]).where(events.c.id == event_id)
        ).one_or_none()
    return None if row is None else StoredRequest.of(row[0], row[1], row[2])
