"""``POST /hooks/<source>``: verify on the raw bytes, decode and key, store with its job, answer.

The worker parses what the door stored; an ``ivvy`` source is parsed here (``parsed_at_door``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import IO

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wsgi import LimitedStream

from bridge.sources.base import (
    Acknowledged,
    InboundRequest,
    PayloadInvalid,
    SourceType,
    SourceUnavailable,
    VerificationFailed,
)
from bridge.store.inbox import AcceptResult, accept, accept_unparsed, store_invalid
from bridge.web.body_deadline import DEADLINES
from bridge.web.errors import error_response
from bridge.web.request_log import note, outcome
from bridge.web.runtime_access import runtime

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)

# Headers never stored with an event: credentials and signatures are checked
# once, at the door, and are of no use afterwards.
_UNSTORED = frozenset({"authorization", "cookie", "x-bridge-token", "x-api-authorization"})


def _stored_headers(headers: Mapping[str, str], source: SourceType) -> dict[str, str]:
    """The lower-cased headers worth keeping with the event.

    The source's own credential headers are dropped whatever their name (a generic
    ``hmac`` source may sign in ``X-Sig``), as is anything named like a signature.
    """
    unstored = _UNSTORED | source.unstored_headers()
    return {
        name: value
        for name, value in headers.items()
        if name not in unstored and "signature" not in name
    }


def read_body(limit: int, seconds: float) -> bytes:
    """The whole body, refusing (413) anything over ``limit`` bytes, chunked bodies included.

    Werkzeug's ``get_data()`` silently truncates a chunked body at the limit,
    so the stream is read here with an explicit count instead.  ``request.stream``
    is not used: it is capped at MAX_CONTENT_LENGTH and refuses a body of exactly
    ``limit`` bytes (the read that finds the end counts as one past the cap).
    Under gunicorn a body not read within ``seconds`` is a 408: see body_deadline.
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is None:  # not under gunicorn (the test client): nothing to cut
        return _read_body(limit)
    with DEADLINES.watch(sock, seconds) as watch:
        try:
            return _read_body(limit)
        finally:
            # Whatever the cut body came to (a short read, a parser error): a 408.
            if watch.expired:
                outcome("webhook body too slow", logging.WARNING, deadline_seconds=seconds)
                abort(408)


def _read_body(limit: int) -> bytes:
    length = request.content_length
    environ = request.environ
    if length is not None:
        if length > limit:
            abort(413)
        # A client that hangs up before Content-Length bytes is a 400, never a short body.
        stream: io.RawIOBase | IO[bytes] = LimitedStream(environ["wsgi.input"], length)
    elif environ.get("wsgi.input_terminated"):
        stream = environ["wsgi.input"]  # chunked: the server marks the end
    else:
        return b""  # no length and no end marker: HTTP says there is no body
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            abort(413)
        chunks.append(chunk)
    return b"".join(chunks)


@bp.post("/hooks/<source_name>")
def receive(source_name: str) -> Response:
    """Accept one webhook delivery for the named source.

    What happened is logged once, on the request's own line (``webhook accepted``,
    ``webhook rejected``...), with its status and duration: see request_log.
    """
    note(source=source_name)
    rt = runtime()
    source = rt.config.sources.get(source_name)
    if source is None:
        return error_response(404, "no source with that name is configured")
    if source.content_types and request.mimetype not in source.content_types:
        return error_response(
            415, "unsupported content type", accepted=sorted(source.content_types)
        )
    body = read_body(rt.settings.max_body_bytes, rt.settings.body_read_seconds)
    inbound = InboundRequest(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=request.args.to_dict(),
        content_type=request.mimetype,
    )
    now = rt.clock()
    context = {"source": source_name}
    try:
        source.verify(inbound, now)
    except VerificationFailed as exc:
        outcome("webhook rejected", reason=str(exc)[:200])
        return error_response(401, "the request could not be authenticated")
    except SourceUnavailable as exc:
        outcome("webhook deferred", logging.WARNING, reason=str(exc)[:200])
        return error_response(503, "the bridge cannot verify this delivery right now")
    except PayloadInvalid as exc:
        # A source that must decode the body to verify it (ivvy) found it too deep or too
        # large to carry: refused with the reason, and nothing stored (it is not authentic).
        outcome("webhook refused", reason=str(exc)[:200])
        return error_response(400, str(exc))
    headers = _stored_headers(inbound.headers, source)
    content_type = request.content_type or ""
    if not source.parsed_at_door:
        return _accept_unparsed(source, inbound, headers, content_type, now)
    try:
        parsed = source.parse(inbound, now)
    except SourceUnavailable as exc:
        outcome("webhook deferred", logging.WARNING, reason=str(exc)[:200])
        return error_response(503, "the bridge cannot process this delivery right now")
    except PayloadInvalid as exc:
        return _invalid(source, inbound.body, headers, content_type, str(exc), now)
    if isinstance(parsed, Acknowledged):
        outcome("webhook acknowledged", reason=parsed.reason)
        return jsonify(status="acknowledged", reason=parsed.reason)
    try:
        result = accept(
            rt.engine,
            parsed.event,
            parsed.dedupe_key,
            headers=headers,
            body=body,
            content_type=content_type,
            now=now,
        )
    except SQLAlchemyError:
        log.exception("could not store a delivery", extra=context)
        return error_response(503, "the bridge cannot store deliveries right now")
    return _accepted(result)


def _accept_unparsed(
    source: SourceType,
    inbound: InboundRequest,
    headers: Mapping[str, str],
    content_type: str,
    now: datetime,
) -> Response:
    """Store a verified delivery for the worker to parse: the door only decodes the body.

    A body that does not decode (not JSON, not UTF-8, too deep...) is still refused here,
    with a 400, and kept as ``invalid``; one that decodes but does not fit the sender's
    shape becomes ``invalid`` in the worker (decision 2 in docs/architecture.md).
    """
    try:
        identity = source.identify(inbound)
    except PayloadInvalid as exc:
        return _invalid(source, inbound.body, headers, content_type, str(exc), now)
    try:
        result = accept_unparsed(
            runtime().engine,
            source=source.name,
            source_type=source.type_name,
            dedupe_key=identity.dedupe_key,
            sender_id=identity.sender_id,
            headers=headers,
            body=inbound.body,
            content_type=content_type,
            now=now,
        )
    except SQLAlchemyError:
        log.exception("could not store a delivery", extra={"source": source.name})
        return error_response(503, "the bridge cannot store deliveries right now")
    return _accepted(result)


def _invalid(
    source: SourceType,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str,
    reason: str,
    now: datetime,
) -> Response:
    """An authentic body that cannot be read: kept as an ``invalid`` event, answered 400."""
    try:
        event_id = store_invalid(
            runtime().engine,
            source=source.name,
            source_type=source.type_name,
            headers=headers,
            body=body,
            content_type=content_type,
            reason=reason,
            now=now,
        )
    except SQLAlchemyError:
        log.exception("could not store an invalid delivery", extra={"source": source.name})
        return error_response(503, "the bridge cannot store deliveries right now")
    outcome("webhook invalid", event_id=event_id)
    return error_response(400, reason, event=event_id)


def _accepted(result: AcceptResult) -> Response:
    """202 with the new event's id, or 200 with the id of the event it repeats."""
    if result.duplicate:
        outcome("webhook duplicate", event_id=result.event_id)
        response = jsonify(event=result.event_id, duplicate=True)
        return response
    outcome("webhook accepted", event_id=result.event_id)
    response = jsonify(event=result.event_id)
    response.status_code = 202
    return response
