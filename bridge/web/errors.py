"""One JSON error envelope for every non-2xx answer, routing 404/405 and 500 included."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, abort, g, jsonify, request
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


NUL_IN_URL = "the URL may not contain NUL characters (%00)"


ADMIN_BLUEPRINTS = frozenset({"api", "ui"})


def refuse_nul_in_url() -> None:
    """A 400 for an admin path or query parameter holding a NUL, before the route sees it.

    PostgreSQL cannot compare text with a NUL (SQLite can), so a search, filter or id
    holding one would otherwise fail in the database.  Registered after the request log's
    own ``before_request``, so the refusal is logged like any answer.
    """
    if request.blueprint not in ADMIN_BLUEPRINTS:
        return
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        abort(400, NUL_IN_URL)
