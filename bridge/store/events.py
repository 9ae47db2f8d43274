"""The events table as the worker writes it: an event's state after a run; its payload read back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, func, select, update
from sqlalchemy.engine import Engine

from bridge.events import Event
from bridge.store.db import reading
from bridge.store.queue import Write
from bridge.store.states import EventState
from bridge.store.tables import events
from bridge.store.types import StoredRequest


def _kept_unless_given(name: str, column: Any, type_: Any = None) -> Any:
    """The parameter's value when it is not null, else the column's own."""
    return func.coalesce(bindparam(name, type_=type_ or column.type), column)


# The event's state after a run, and (on its first run only) the rules it ran with; and, when
# the worker parsed the body (``parsed``), what the parse found.  One statement either way,
# so that the settlement folds it in (settle_statements) whether or not the run parsed.
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
        kind=_kept_unless_given("p_kind", events.c.kind),
        external_id=_kept_unless_given("p_external_id", events.c.external_id),
        email=_kept_unless_given("p_email", events.c.email),
        # none_as_null: no payload is SQL NULL (kept), not the JSON value null.
        event=_kept_unless_given("p_event", events.c.event, JSON(none_as_null=True)),
    )
)
_UNPARSED: Mapping[str, Any] = {"kind": None, "external_id": None, "email": None, "event": None}


def parsed_columns(event: Event) -> dict[str, Any]:
    """The columns a parse fills: kind, sender's id and email (cut to fit), the event's JSON.

    The email is kept lower-case, for search in the status pages; ``raw`` is not stored in
    the event's JSON, since the body is stored beside it (``bridge.sources.stored``).
    """
    email = (event.fields.get("email") or "").strip().lower() or None
    return {
        "kind": event.kind[:120],
        "external_id": (event.external_id or None) and event.external_id[:255],
        "email": email[:320] if email else None,
        "event": event.to_json(with_raw=False),
    }


_PAYLOAD_COLUMNS = (
    events.c.event,
    events.c.rules_digest,
    events.c.body,
    events.c.headers,
    events.c.content_type,
)


def event_write(
    event_id: str,
    state: EventState,
    error: str | None,
    now: datetime,
    digest: str | None = None,
    parsed: Mapping[str, Any] | None = None,
) -> Write:
    """The event's new state and error, (on its first run only) the rules it ran with, and
    the columns of the worker's parse (``parsed_columns``) when this run parsed the body."""
    params = {
        "p_event_id": event_id,
        "p_state": state,
        "p_error": error,
        "p_now": now,
        "p_digest": digest,
        **{f"p_{name}": value for name, value in (parsed or _UNPARSED).items()},
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
