"""A prototype of the planned door (ingest plan step 2), to measure what the plan can reach.

The bridge's own app (every middleware, the request log, metrics, throttle, the same config
and engine), with ``POST /hooks/<source>`` swapped for what the door would do once parsing
moves to the worker: verify, take the dedupe key (for Typeform, ``event_id`` after one
``json.loads``), store the body and its job with ``store.accept_statements``, answer 202.
No ``parse``, no event JSON. It is not the product: the worker cannot run these events (their
``event`` is null). It exists so that ``bench/ingest.py --apps bare bridge door`` can show,
in one run, how far the bridge's ingest would get against the bare limit with the plan done.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, jsonify, request

from bridge import create_app
from bridge.sources.base import InboundRequest, VerificationFailed
from bridge.store.accept_statements import write_accepted
from bridge.store.inbox import ready_job
from bridge.store.states import EventState
from bridge.store.types import new_id
from bridge.web.errors import error_response
from bridge.web.hooks import _stored_headers, read_body
from bridge.web.request_log import note, outcome
from bridge.web.runtime_access import runtime


def receive(source_name: str) -> Response:
    """Verify, take the key, store body and job: the door without the parse."""
    note(source=source_name)
    rt = runtime()
    source = rt.config.sources.get(source_name)
    if source is None:
        return error_response(404, "no source with that name is configured")
    body = read_body(rt.settings.max_body_bytes, rt.settings.body_read_seconds)
    inbound = InboundRequest(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        content_type=request.mimetype,
    )
    now = rt.clock()
    try:
        source.verify(inbound, now)
    except VerificationFailed:
        outcome("webhook rejected")
        return error_response(401, "the request could not be authenticated")
    key = str(json.loads(body)["event_id"])  # the cheap check: JSON with its key
    event_id = new_id("ev_")
    write_accepted(
        rt.engine,
        dict(source=source_name, key=key, event_id=event_id, created_at=now),
        dict(
            id=event_id,
            source=source_name,
            source_type=source.type_name,
            kind="unparsed",
            external_id=key,
            dedupe_key=key,
            email=None,
            received_at=now,
            updated_at=now,
            state=EventState.RECEIVED,
            content_type=request.content_type or "",
            headers=_stored_headers(inbound.headers, source),
            body=body,
            event=None,
        ),
        ready_job(event_id, now),
    )
    outcome("webhook accepted", event_id=event_id)
    response = jsonify(event=event_id)
    response.status_code = 202
    return response


def make() -> Flask:
    app = create_app()
    app.view_functions["hooks.receive"] = receive
    return app


app = make() if os.environ.get("BRIDGE_CONFIG") else None
