"""Request ids on every log record written during a request, and one log line per request."""

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


def init_app(app: Flask) -> None:
    """Stamp log records with the request id and log each request (path only, no query)."""
    _install_record_factory()

    @app.before_request
    def _started() -> None:
        g.request_started = time.monotonic()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path[:200],
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1) if started else None,
            },
        )
        return response
