"""Payloads in through a real source (as ``/hooks/<source>`` parses them), then the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.config import Config
from bridge.events import Event
from bridge.sources.base import Accepted, InboundRequest
from bridge.store.inbox import accept
from tests.delivery.harness import Bench


def parse(config: Config, source: str, body: bytes, now: datetime, content_type: str) -> Event:
    """The Event the source makes of ``body`` (no signature check, as preview)."""
    found = config.source(source)
    assert found is not None, source
    request = InboundRequest(
        body=body, headers={"content-type": content_type}, content_type=content_type
    )
    result = found.parse(request, now)
    assert isinstance(result, Accepted), result
    return result.event


def store(
    bench: Bench,
    event: Event,
    key: str,
    body: bytes = b"{}",
    content_type: str = "application/json",
) -> str:
    """Store ``event`` with its job, as the ingest route does; the event id.

    ``body`` is stored beside it, and the worker rebuilds the event's ``raw`` from it: the
    body ``event`` was parsed from, for a worker that sees the ``raw`` preview saw.
    """
    result = accept(
        bench.engine,
        event,
        key,
        headers={"content-type": content_type},
        body=body,
        content_type=content_type,
        now=bench.clock(),
    )
    return result.event_id


def deliveries(bench: Bench, event_id: str) -> dict[str, dict[str, Any]]:
    """The event's deliveries by rule: state, error and the task as sent."""
    rows = bench.rows(
        "SELECT rule, state, error, task FROM deliveries WHERE event_id = :e", e=event_id
    )
    return {row["rule"]: dict(row) for row in rows}
