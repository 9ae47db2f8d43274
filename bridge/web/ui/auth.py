"""Who may see the status pages: the admin token, by login form (a session cookie) or HTTP Basic.

Without ``BRIDGE_ADMIN_TOKEN`` the pages refuse: they are never open.  The
session is Flask's signed cookie, keyed by an HMAC of the admin token, so every
gunicorn worker and process agrees on it and changing the token logs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

from bridge.web.auth import basic_password, token_matches
from bridge.web.csrf import rotate_csrf_token
from bridge.web.runtime_access import runtime
from bridge.web.throttle import admin_guesses, client_of

SESSION_LIFETIME = timedelta(hours=12)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_SESSION_FLAG = "admin"


def session_key(admin_token: str) -> bytes:
    """The cookie-signing key for a given admin token (stable across processes)."""
    return hmac.new(
        admin_token.encode("utf-8"), b"bridge status pages session key v1", hashlib.sha256
    ).digest()


def plain_http_on_localhost(req: Request) -> bool:
    """Whether the request came over plain http to this machine (tests, ``bridge sandbox``)."""
    host = req.host.lower()
    name = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    return req.scheme == "http" and name in _LOCAL_HOSTS


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, ``Secure`` except over plain http to localhost."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return not plain_http_on_localhost(request)


def init_session(app: Flask) -> None:
    """Key and harden the session cookie; no key (and no session) without an admin token."""
    token = runtime_token(app)
    if token:
        app.secret_key = session_key(token)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="bridge_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def runtime_token(app: Flask) -> str | None:
    """The admin token this app was configured with."""
    token: str | None = app.extensions["bridge"].settings.admin_token
    return token


def signed_in() -> bool:
    """Whether this request is the admin's: a logged-in session or Basic credentials."""
    expected = runtime().settings.admin_token
    by_basic = token_matches(expected, basic_password(request))
    return bool(expected) and (session.get(_SESSION_FLAG) is True or by_basic)


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else becomes the overview."""
    if not target:
        return url_for("ui.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.overview")
    # A backslash is a slash to browsers; a control character (CR/LF would split
    # the Location header, which Werkzeug refuses with a 500) is never a real path.
    if "\\" in target or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in target):
        return url_for("ui.overview")
    return target


def login() -> BaseResponse | str | tuple[str, int]:
    """The login form (GET) and its submission (POST; CSRF checked before this runs)."""
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        if signed_in():
            return redirect(next_path)
        return render_template("login.html", next_path=next_path, failed=False)
    if not token_matches(runtime().settings.admin_token, request.form.get("token")):
        admin_guesses().failed(client_of(request))
        return render_template("login.html", next_path=next_path, failed=True), 401
    session.clear()
    session[_SESSION_FLAG] = True
    session.permanent = True
    rotate_csrf_token()
    return redirect(next_path)


def logout() -> Response | BaseResponse:
    """Forget the session (POST with the CSRF token)."""
    session.clear()
    return redirect(url_for("ui.login"))


def register_routes(bp: Blueprint) -> None:
    """Add /login and /logout to the status pages' blueprint."""
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
