"""The status pages under ``/``: overview, events, one event, preview; HTML for people.

Every page needs the admin token (see ``ui.auth``); every POST needs the
session's CSRF token (see ``csrf``).  Errors raised here render as HTML pages;
``/api`` and ``/hooks`` keep the JSON envelope.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from bridge.web.auth import retry_after
from bridge.web.csrf import FIELD, csrf_token, csrf_valid
from bridge.web.runtime_access import runtime
from bridge.web.throttle import admin_guesses, client_of
from bridge.web.ui import auth as ui_auth
from bridge.web.ui import views as ui_views
from bridge.web.ui.explain import age, local_time

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui-static",
)

_OPEN_ENDPOINTS = ("ui.static", "ui.login")
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    assert isinstance(state.app, Flask)
    ui_auth.init_session(state.app)


def _page(template: str, code: int, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), code


@bp.before_request
def _guard() -> BaseResponse | tuple[str, int] | None:
    if request.endpoint == "ui.static":
        return None
    if not runtime().settings.admin_token:
        return _page("not_configured.html", 503)
    if request.method == "POST" and not csrf_valid():
        return _page(
            "error.html",
            403,
            status=403,
            message="The form has expired or was not "
            "sent from these pages (CSRF check failed). Reload the page and try again.",
        )
    presents_token = request.authorization is not None or (
        request.endpoint == "ui.login" and request.method == "POST"
    )
    if presents_token and (wait := retry_after()) is not None:
        body, status = _page(
            "error.html", 429, status=429, message="Too many wrong admin tokens. Try again later."
        )
        return Response(body, status, {"Retry-After": str(wait)})
    if request.endpoint in _OPEN_ENDPOINTS or ui_auth.signed_in():
        return None
    if request.authorization is not None:
        admin_guesses().failed(client_of(request))
    if request.authorization is not None or request.method != "GET":
        body, status = _page("error.html", 401, status=401, message="Sign in with the admin token.")
        return Response(body, status, {"WWW-Authenticate": 'Basic realm="bridge"'})
    return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))


@bp.after_request
def _harden(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    return _page("error.html", status, status=status, message=exc.description or exc.name)


@bp.app_template_filter("localtime")
def _localtime(value: Any) -> str:
    return local_time(value, runtime().config.ivvy.timezone)


@bp.app_template_filter("age")
def _age(seconds: float | None) -> str:
    return age(seconds)


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {
        "csrf_field": FIELD,
        "csrf_token": csrf_token,
        "signed_in": ui_auth.signed_in,
        "timezone": runtime().config.ivvy.timezone,
    }


ui_auth.register_routes(bp)
ui_views.register_routes(bp)
