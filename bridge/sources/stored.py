"""A stored event read back whole: its ``raw`` rebuilt from the body stored beside it.

The inbox keeps the body byte for byte and the normalised Event without ``raw``
(``Event.to_json(with_raw=False)``): ``raw`` is only that body as the source decoded it,
so storing both held the payload twice and cost a second JSON encoding of it per request.
Whoever reads the event back (the worker, the event page, the API, a backtest) rebuilds
``raw`` here with the source type's own decoding (:meth:`SourceType.raw_of`) from the
stored body and ``Content-Type``: the same value ``parse`` made at the door.  Events
stored before (``raw`` inside their JSON) are read as they are: both forms stay readable,
and no migration rewrites old rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bridge.events import Event
from bridge.sources.base import Accepted, InboundRequest, PayloadInvalid, SourceType, media_type
from bridge.sources.registry import SOURCE_TYPES

log = logging.getLogger(__name__)


class StoredRequest(Protocol):
    """What the inbox kept of the request: its body, stored headers and ``Content-Type``.

    The store's ``bridge.store.types.StoredRequest`` is the one implementation; this
    protocol only lets the sources read it without importing the store (sources sit
    below the store in the layers that lint-imports checks).
    """

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content_type(self) -> str: ...


def stored_raw(source_type: str, request: StoredRequest | None) -> Any:
    """``raw`` as the source type's ``parse`` made it, decoded again from the stored request.

    None when it cannot be (no request, a type this version does not know, a body its
    decoding now refuses): the rules then see no ``raw``, as for an event without one.
    """
    source = SOURCE_TYPES.get(source_type)
    if request is None or source is None:
        return None
    try:
        return source.raw_of(stored_inbound(request))
    except (PayloadInvalid, ValueError, LookupError, TypeError) as exc:
        log.warning(
            "the stored body no longer decodes: the event is read without raw",
            extra={"source_type": source_type, "error_type": type(exc).__name__},
        )
        return None


def stored_inbound(request: StoredRequest) -> InboundRequest:
    """The stored request as a source type reads it: lower-case headers, the Content-Type too.

    What the door handed the source, less the credential headers it never stores (no parse
    reads them) and the query string (only tokens come in it).
    """
    headers = {name.lower(): value for name, value in request.headers.items()}
    header = headers.setdefault("content-type", request.content_type)
    return InboundRequest(body=request.body, headers=headers, content_type=media_type(header))


def parse_stored(source: SourceType, request: StoredRequest, received_at: datetime) -> Event:
    """The event ``source``'s parse makes of a stored request that the door did not parse.

    Raises :class:`PayloadInvalid` when the body does not fit the sender's shape, or when the
    parse would answer instead of storing an event (only types parsed at the door do that),
    and :class:`SourceUnavailable` as ``parse`` does.
    """
    parsed = source.parse(stored_inbound(request), received_at)
    if not isinstance(parsed, Accepted):
        raise PayloadInvalid(
            f"{source.type_name} answers this delivery at the door: {parsed.reason}"
        )
    return parsed.event


def stored_event(stored: dict[str, Any], request: StoredRequest | None) -> Event:
    """The Event of a stored row: ``raw`` as stored (older rows) or rebuilt from the body."""
    if "raw" in stored:
        return Event.from_json(stored)
    return Event.from_json(stored, raw=stored_raw(stored["source_type"], request))


def with_raw(stored: dict[str, Any] | None, request: StoredRequest | None) -> dict[str, Any] | None:
    """The stored event's JSON with its ``raw``, as it was stored before (pages, the API)."""
    if stored is None or "raw" in stored:
        return stored
    return {**stored, "raw": stored_raw(stored["source_type"], request)}
