"""Events stored the way the ingest route stores them, for query and replay tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bridge.events import Event
from bridge.store.inbox import accept


def store_event(
    engine: Engine,
    *,
    source: str = "website",
    external_id: str,
    at: datetime,
    email: str = "",
    fields: dict[str, str] | None = None,
) -> str:
    """Accept a form event received at ``at``; returns its id."""
    event = Event(
        source=source,
        source_type="form",
        kind="form_submission",
        external_id=external_id,
        received_at=at,
        fields={"email": email, **(fields or {})},
    )
    result = accept(
        engine,
        event,
        external_id,
        headers={"content-type": "application/json"},
        body=b"{}",
        content_type="application/json",
        now=at,
    )
    return result.event_id
