"""Turning what came back from iVvy (an answer, or none) into a result or an IvvyError."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from bridge.ivvy.errors import (
    IvvyError,
    IvvyTransportError,
    error_from_body,
    is_retryable,
    is_write_action,
    parse_retry_after,
)

# What the client reports as IvvyTransportError; any other RequestException is a bug.
TRANSPORT_FAILURES: tuple[type[requests.RequestException], ...] = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)

_NOT_JSON = object()


def _json_or_marker(content: bytes) -> Any:
    if not content.strip():
        return _NOT_JSON
    try:
        return json.loads(content)
    except ValueError:  # includes UnicodeDecodeError
        return _NOT_JSON


def interpret_response(
    response: requests.Response, *, namespace: str, action: str, now: datetime
) -> Any:
    """The parsed JSON result of a successful call; raises IvvyError for anything else.

    An object with ``errorCode`` is an error whatever the HTTP status (as iVvy's own SDK decides).
    """
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    parsed = _json_or_marker(response.content)
    if isinstance(parsed, dict) and "errorCode" in parsed:
        raise error_from_body(
            parsed,
            http_status=status,
            retry_after=retry_after,
            namespace=namespace,
            action=action,
        )
    write = is_write_action(action)
    if 200 <= status < 300:
        if parsed is _NOT_JSON:
            # The call went through but its answer is unusable: a write may have happened.
            raise IvvyError(
                "answer is not JSON",
                http_status=status,
                retryable=True,
                maybe_committed=write,
                namespace=namespace,
                action=action,
            )
        return parsed
    raise IvvyError(
        "HTTP error without an iVvy error body",
        http_status=status,
        retryable=is_retryable(status, None),
        retry_after=retry_after,
        maybe_committed=write and status >= 500,
        namespace=namespace,
        action=action,
    )


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """Whether the connection was never established, so the server cannot have seen the call."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def transport_error(
    exc: requests.RequestException, *, namespace: str, action: str
) -> IvvyTransportError:
    """An IvvyTransportError for a timeout or a broken connection (never quoting the request)."""
    sent = not _failed_before_sending(exc)
    kind = "timeout" if isinstance(exc, requests.Timeout) else "connection"
    if kind == "timeout":
        message = "read timed out" if sent else "connect timed out"
    else:
        message = "connection dropped" if sent else "could not connect"
    return IvvyTransportError(
        f"{message} ({type(exc).__name__})",
        kind=kind,
        maybe_committed=sent and is_write_action(action),
        namespace=namespace,
        action=action,
    )
