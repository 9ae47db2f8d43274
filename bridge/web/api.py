"""The admin JSON API under ``/api/``: events, dead jobs, replay, preview, backtest, queue, config.

Every route needs the admin token (``Authorization: Bearer``); see ``auth``.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from bridge.backtest import backtest
from bridge.evaluation import PreviewError, preview
from bridge.sources.base import PayloadInvalid
from bridge.sources.decoding import UnsafeJSON, decode_json
from bridge.sources.stored import with_raw
from bridge.store import queries
from bridge.store.backtest_reads import recent_runs
from bridge.store.events import stored_request
from bridge.store.maintenance import ReplayRefused, dead_jobs, replay_event
from bridge.web.api_schemas import (
    backtest_query,
    counts_query,
    event_filters,
    limit_query,
    preview_body,
    replay_body,
)
from bridge.web.auth import admin_refusal
from bridge.web.errors import error_response
from bridge.web.runtime_access import runtime

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")


class _BadInput(Exception):
    def __init__(self, message: str, fields: Any = None) -> None:
        super().__init__(message)
        self.fields = fields


@bp.before_request
def _require_admin() -> Response | None:
    return admin_refusal()


@bp.errorhandler(_BadInput)
def _bad_input(exc: _BadInput) -> Response:
    extra = {"fields": exc.fields} if exc.fields else {}
    return error_response(400, str(exc), **extra)


def _load_query(schema: Schema) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise _BadInput("the query string is not valid", exc.messages) from None
    return loaded


def _load_body(schema: Schema, *, optional: bool = False) -> dict[str, Any]:
    data = request.get_data(cache=True)
    if optional and not data:
        raw: Any = {}
    elif not request.is_json:
        raw = None
    else:
        try:
            raw = decode_json(data)
        except UnsafeJSON as exc:
            raise _BadInput(str(exc)) from None
    if not isinstance(raw, dict):
        raise _BadInput("the body must be a JSON object")
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise _BadInput("the body is not valid", exc.messages) from None
    return loaded


@bp.get("/events")
def list_events() -> Response:
    """Events newest first; filters: source, state, since, until, q (email/external id/id)."""
    args = _load_query(event_filters)
    log.info(
        "api events listed",
        extra={k: str(v) for k, v in args.items() if k in ("source", "state", "q")},
    )
    try:
        page = queries.list_events(
            runtime().engine,
            source=args.get("source"),
            state=args.get("state"),
            since=args.get("since"),
            until=args.get("until"),
            search=args.get("q"),
            limit=args["limit"],
            cursor=args.get("cursor"),
        )
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    return jsonify(page)


@bp.get("/events/<event_id>")
def get_event(event_id: str) -> Response:
    """One event with its normalised fields, jobs, deliveries and attempts."""
    engine = runtime().engine
    found = queries.get_event(engine, event_id)
    if found is None:
        return error_response(404, "no event with that id")
    # The normalised event as before: raw rebuilt from the body when stored without it.
    found["event"] = with_raw(found["event"], stored_request(engine, event_id))
    return jsonify(found)


@bp.post("/events/<event_id>/replay")
def replay(event_id: str) -> Response:
    """Queue the event again; done deliveries stay done, failed ones go back to pending."""
    body = _load_body(replay_body, optional=True)
    rt = runtime()
    try:
        result = replay_event(rt.engine, event_id, rules=body["rules"], now=rt.clock())
        assert result is not None  # only a dry run returns None
    except LookupError:
        return error_response(404, "no event with that id")
    except ReplayRefused as exc:
        return error_response(409, str(exc))
    log.info(
        "event replayed",
        extra={"event_id": event_id, "job": result.job_id, "rules": body["rules"]},
    )
    response = jsonify(result.to_json())
    response.status_code = 202
    return response


@bp.get("/jobs/dead")
def dead_job_list() -> Response:
    """Dead jobs not yet replayed, with their reasons, most recent first."""
    args = _load_query(limit_query)
    return jsonify(jobs=dead_jobs(runtime().engine, limit=args["limit"]))


@bp.get("/queue")
def queue() -> Response:
    """Jobs waiting, scheduled, running and dead, and the oldest waiting job's age."""
    rt = runtime()
    return jsonify(queries.queue_stats(rt.engine, now=rt.clock()))


@bp.get("/stats")
def stats() -> Response:
    """Events per source per hour or day (default: the last 24 hours), and per state."""
    args = _load_query(counts_query)
    rt = runtime()
    until = args.get("until") or rt.clock()
    since = args.get("since") or until - timedelta(days=1 if args["unit"] == "hour" else 30)
    if since > until:  # an empty window (since == until) is answered with no counts
        raise _BadInput("since must not be after until")
    return jsonify(
        since=since.isoformat(),
        until=until.isoformat(),
        unit=args["unit"],
        sources=queries.counts_by_source(rt.engine, since=since, until=until, unit=args["unit"]),
        states=queries.counts_by_state(rt.engine, since=since),
    )


@bp.post("/preview")
def preview_payload() -> Response:
    """What the rules would do with a payload at ``/hooks/<source>``; nothing is sent to iVvy."""
    body = _load_body(preview_body)
    payload = body["payload"]
    raw = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
    content_type = body.get("content_type") or "application/json"
    rt = runtime()
    log.info("api preview", extra={"source": body["source"]})
    try:
        result = preview(rt.config, body["source"], raw, content_type, rt.clock())
    except PreviewError as exc:
        return error_response(404, str(exc))
    except PayloadInvalid as exc:
        return error_response(422, str(exc))
    return Response(json.dumps(result, default=str), mimetype="application/json")


@bp.get("/backtest")
def backtest_source() -> Response:
    """The config's rules on a source's last stored events; nothing is sent or stored."""
    args = _load_query(backtest_query)
    rt = runtime()
    if rt.config.source(args["source"]) is None:
        return error_response(404, "no source with that name in the config")
    log.info("api backtest", extra={"source": args["source"], "last": args["last"]})
    runs = recent_runs(rt.engine, args["source"], args["last"])
    return jsonify(backtest(rt.config, args["source"], runs, args["last"]).to_json())


@bp.get("/config")
def config() -> Response:
    """The loaded configuration with every secret masked."""
    return jsonify(runtime().config.masked())
