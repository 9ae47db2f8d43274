"""Request ids on every log record written during a request, and one log line per request.

The line is ``request`` unless the handler names what the request came to with
:func:`outcome` (``webhook accepted``...): one line then says both what happened
and the method, path, status and duration, instead of a handler line plus a
generic one for the same request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request

log = logging.getLogger("bridge.request")
_installed = False


def _install_record_factory() -> None:
    """Give records made inside a request its ``request_id`` (any logger, any module)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def note(**fields: Any) -> None:
    """Add fields to this request's log line (call inside a request)."""
    g.setdefault("log_fields", {}).update(fields)


def outcome(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Name what this request came to: its log line reads ``message``, at ``level``, with fields."""
    note(**fields)
    g.log_message = message
    g.log_level = level


def init_app(app: Flask) -> None:
    """Stamp log records with the request id and log each request (path only, no query)."""
    _install_record_factory()

    @app.before_request
    def _started() -> None:
        g.request_started = time.monotonic()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        log.log(
            g.get("log_level", logging.INFO),
            g.get("log_message", "request"),
            extra={
                "method": request.method,
                "path": request.path[:200],
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1) if started else None,
                **g.get("log_fields", {}),
            },
        )
        return response
