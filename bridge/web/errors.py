"""One JSON error envelope for every non-2xx answer, routing 404/405 and 500 included."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# Machine-readable codes for the statuses the bridge answers.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


def error_response(status: int, message: str, **extra: Any) -> Response:
    """The envelope ``{"error": {"code", "message", "request_id", ...}}`` with that status."""
    body: dict[str, Any] = {
        "code": CODES.get(status, "error"),
        "message": message,
        "request_id": g.get("request_id"),
    }
    body.update(extra)
    response = jsonify(error=body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    """Route every HTTP error and unhandled exception through the envelope."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return error_response(500, InternalServerError.description)
