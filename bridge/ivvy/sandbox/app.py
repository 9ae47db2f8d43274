"""The sandbox iVvy as a Flask app: iVvy's API paths plus /_sandbox inspection and fault knobs."""

from __future__ import annotations

import contextlib
import json
import math
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bridge.clock import Clock, utc_now
from bridge.ivvy.sandbox.actions import KNOWN_NAMESPACES, find_action
from bridge.ivvy.sandbox.authentication import ReceivedRequest, authenticate
from bridge.ivvy.sandbox.body_fields import format_timestamp
from bridge.ivvy.sandbox.errors import ApiError, error_body
from bridge.ivvy.sandbox.faults import Failure, Faults
from bridge.ivvy.sandbox.state import SandboxState
from bridge.ivvy.signing import API_VERSION

SANDBOX_KEY = "sandbox-key"
SANDBOX_SECRET = "sandbox-secret"  # noqa: S105 - a published demo credential, not a secret
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass
class Sandbox:
    """Everything one sandbox app works with."""

    state: SandboxState
    faults: Faults
    credentials: Mapping[str, str]
    clock: Clock
    auth_failure_code: int | None = None


def create_sandbox_app(
    state: SandboxState | None = None,
    *,
    credentials: dict[str, str] | None = None,
    clock: Clock | None = None,
    auth_failure_code: int | None = None,
) -> Flask:
    """A Flask app that answers like iVvy; ``state`` defaults to the packaged seed.

    ``credentials`` maps API keys to secrets (default ``sandbox-key``/``sandbox-secret``);
    ``clock`` returns aware UTC datetimes; ``auth_failure_code`` is the specificCode of 401s
    other than "stale" (iVvy documents none).
    """
    from bridge.ivvy.sandbox.inspection import inspection_blueprint

    sandbox = Sandbox(
        state=SandboxState.from_seed() if state is None else state,
        faults=Faults(),
        credentials=dict(credentials or {SANDBOX_KEY: SANDBOX_SECRET}),
        clock=clock or utc_now,
        auth_failure_code=auth_failure_code,
    )
    app = Flask(__name__)
    app.extensions["ivvy_sandbox"] = sandbox
    app.register_blueprint(api_blueprint(sandbox))
    app.register_blueprint(inspection_blueprint(sandbox))
    app.add_url_rule("/", "home", lambda: redirect("/_sandbox/"))
    app.register_error_handler(HTTPException, http_error)
    return app


def http_error(error: HTTPException) -> Response:
    """Routing and server errors in iVvy's error shape, HTTP status = errorCode."""
    status = error.code or 500
    response = jsonify(error_body(status, error.name))
    response.status_code = status
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def error_response(error: ApiError) -> Response:
    """An ApiError as its HTTP answer."""
    response = jsonify(error.body())
    response.status_code = error.status
    return response


def api_blueprint(sandbox: Sandbox) -> Blueprint:
    """``/api/<version>/<namespace>?action=<action>``: faults, then authentication, then action."""
    blueprint = Blueprint("ivvy_api", __name__)

    @blueprint.route("/api/<version>/<namespace>", methods=ALL_METHODS)
    def call(version: str, namespace: str) -> Response:
        action = request.args.get("action", "")
        entry: dict[str, Any] = {
            "namespace": namespace,
            "action": action,
            "time": format_timestamp(sandbox.clock()),
            "fault": None,
        }
        try:
            if version != API_VERSION:
                raise ApiError(404, f"API version {version} does not exist")
            if request.method != "POST":
                raise ApiError(405, "Method not allowed: every iVvy call is a POST")
            response = _faulted_or_handled(sandbox, namespace, action, entry)
        except ApiError as error:
            response = error_response(error)
        entry["status"] = response.status_code
        answer = response.get_json(silent=True)
        entry["specificCode"] = answer.get("specificCode") if isinstance(answer, dict) else None
        if request.method == "POST" and entry["fault"] is None and sandbox.faults.take_drop():
            entry["fault"] = "drop"
            sandbox.state.log_call(entry)
            drop_connection()
        else:
            sandbox.state.log_call(entry)
        return response

    return blueprint


def _faulted_or_handled(
    sandbox: Sandbox, namespace: str, action: str, entry: dict[str, Any]
) -> Response:
    delay = sandbox.faults.latency_seconds()
    if delay > 0:
        entry["latency_ms"] = round(delay * 1000)
        time.sleep(delay)
    failure = sandbox.faults.take_failure()
    if failure is not None:
        entry["fault"] = "fail"
        return failure_response(failure)
    return jsonify(handle_call(sandbox, namespace, action))


def failure_response(failure: Failure) -> Response:
    """An injected failure: iVvy's error shape, and Retry-After when one was asked for."""
    body = error_body(failure.status, "Sandbox fault: injected failure", failure.specific_code)
    response = jsonify(body)
    response.status_code = failure.status
    if failure.retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(failure.retry_after))
    return response


def handle_call(sandbox: Sandbox, namespace: str, action: str) -> Any:
    """Authenticate, find the action, parse the body and run the action under the state's lock."""
    raw = request.get_data(cache=True)
    received = ReceivedRequest(
        method=request.method,
        request_target=request_target(),
        headers=dict(request.headers.items()),
        body=raw,
    )
    now = sandbox.clock()
    authenticate(received, sandbox.credentials, now, failure_code=sandbox.auth_failure_code)
    handler = find_action(namespace, action)
    if handler is None:
        status = 501 if namespace in KNOWN_NAMESPACES and action else 404
        raise ApiError(status, f"The sandbox has no action {namespace}?action={action}")
    body = parse_body(raw)
    with sandbox.state.lock:
        return handler(sandbox.state, body, now)


def request_target() -> str:
    """Path and query exactly as the client sent them (what iVvy signs)."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    query = environ.get("QUERY_STRING", "")
    return request.path + (f"?{query}" if query else "")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in the body; an empty body (or PHP's ``[]``) is ``{}``."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON") from None
    if parsed == []:
        return {}
    if not isinstance(parsed, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return parsed


def drop_connection() -> None:
    """Close the client's connection so it gets no HTTP answer at all.

    werkzeug's server exposes the socket as ``werkzeug.socket`` (gunicorn as ``gunicorn.socket``);
    after ``shutdown`` the server's attempt to write the answer fails quietly. Without a socket
    (e.g. Flask's test client) ConnectionAbortedError is raised instead: the test client re-raises
    it when the app is in testing mode, other servers answer 500.
    """
    connection = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if not isinstance(connection, socket.socket):
        raise ConnectionAbortedError("the sandbox dropped this answer")
    with contextlib.suppress(OSError):  # already gone
        connection.shutdown(socket.SHUT_RDWR)
