"""The events table as the worker writes it: an event's state after a run, and its payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine

from bridge.store.queue import Write
from bridge.store.states import EventState
from bridge.store.tables import events

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


def event_payload(engine: Engine, event_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The normalised Event (as JSON) and the rules digest it first ran with, if stored."""
    with engine.connect() as conn:
        row = conn.execute(
            select(events.c.event, events.c.rules_digest).where(events.c.id == event_id)
        ).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)
