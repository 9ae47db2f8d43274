"""CSRF protection for the status pages: a per-session token in a hidden field on every form.

The token lives in the signed session cookie; every POST must echo it in the
``csrf_token`` form field, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"
_SESSION_KEY = "csrf"


def csrf_token() -> str:
    """This session's token, created on first use (templates put it in a hidden field)."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def csrf_valid() -> bool:
    """Whether this request's form carries the session's token."""
    expected = session.get(_SESSION_KEY)
    presented = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def rotate_csrf_token() -> str:
    """A fresh token (after logging in, so a token seen before login is worth nothing)."""
    session.pop(_SESSION_KEY, None)
    return csrf_token()
