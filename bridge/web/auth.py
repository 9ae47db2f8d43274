"""The admin token: a bearer header for the API, reusable for the status pages' cookie or Basic.

The token comes from BRIDGE_ADMIN_TOKEN.  Without one, admin routes are
closed (503), never open; a missing or wrong token is 401 in the envelope.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from flask import Request, Response, request

from bridge.web.errors import error_response
from bridge.web.runtime_access import runtime
from bridge.web.throttle import admin_guesses, client_of

NOT_CONFIGURED = "the admin API is disabled: set BRIDGE_ADMIN_TOKEN to enable it"


def token_matches(expected: str | None, presented: str | None) -> bool:
    """Whether ``presented`` is the admin token, compared in constant time; False when unset."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def bearer_token(req: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def basic_password(req: Request) -> str | None:
    """The password of HTTP Basic credentials (any user name), if there are any."""
    auth = req.authorization
    if auth is None or auth.type != "basic":
        return None
    return auth.password or None


def admin_refusal(
    candidates: Iterable[str | None] = (), *, challenge: str = "Bearer"
) -> Response | None:
    """None when the request carries the admin token, else the 503/401 response to send.

    The bearer header is always looked at; callers add other places the token
    may come from (a session cookie's value, ``basic_password(request)``).
    ``challenge`` is the ``WWW-Authenticate`` scheme sent with a 401
    (``'Basic realm="bridge"'`` makes a browser prompt).
    """
    expected = runtime().settings.admin_token
    if not expected:
        return error_response(503, NOT_CONFIGURED)
    presented = [bearer_token(request), *candidates]
    if any(presented) and (refusal := throttled()) is not None:
        return refusal
    # Every candidate is compared, so the time taken does not say which one was close.
    matches = [token_matches(expected, value) for value in presented]
    if any(matches):
        return None
    if any(presented):
        admin_guesses().failed(client_of(request))
    response = error_response(401, "a valid admin token is required")
    response.headers["WWW-Authenticate"] = challenge
    return response


def retry_after() -> int | None:
    """Seconds this client must wait before presenting an admin token again, if any."""
    return admin_guesses().retry_after(client_of(request))


def throttled() -> Response | None:
    """The 429 for a client that guessed wrong too often (see web/throttle.py), else None."""
    wait = retry_after()
    if wait is None:
        return None
    response = error_response(429, "too many wrong admin tokens: try again later")
    response.headers["Retry-After"] = str(wait)
    return response
