"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

``/readyz`` is 503 when the database is unreachable or not migrated: this
process cannot store a webhook then.  iVvy is reported but does not make it
503: webhooks are still stored and delivered once iVvy answers again, and a
load balancer that took the web process out because iVvy is down would turn
an iVvy outage into lost webhooks.  The ping runs at most every few minutes
per process; the verdict in between is the cached one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError
from bridge.runtime import Runtime
from bridge.store.migrate import schema_is_current
from bridge.web.runtime_access import runtime

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

PING_EVERY = timedelta(minutes=5)
PING_TIMEOUT = (2.0, 5.0)  # (connect, read): a readiness probe must not hang


class IvvyCheck:
    """The iVvy verdict of this process, refreshed by a ping at most every ``every``."""

    def __init__(self, ping: Callable[[], object], *, every: timedelta = PING_EVERY) -> None:
        self.ping = ping
        self.every = every
        self.verdict = "unchecked"
        self.checked_at: datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> bool:
        """Whether the cached verdict is too old (or missing)."""
        return self.checked_at is None or now - self.checked_at >= self.every

    def status(self, now: datetime) -> str:
        """``ok``, ``unreachable`` or ``unchecked``; pings only when due, one caller at a time."""
        if self.due(now) and self._lock.acquire(blocking=False):
            try:
                if self.due(now):
                    self.verdict = self._ping()
                    self.checked_at = now
            finally:
                self._lock.release()
        return self.verdict

    def _ping(self) -> str:
        try:
            self.ping()
        except IvvyError as exc:
            # The error's text carries iVvy's codes, never the key or signature.
            log.warning("ivvy ping failed", extra={"error": str(exc)[:200]})
            return "unreachable"
        except Exception as exc:
            log.warning("ivvy ping failed", extra={"error_type": type(exc).__name__})
            return "unreachable"
        return "ok"


def ivvy_check_for(rt: Runtime) -> IvvyCheck:
    """A check that pings the configured iVvy account with short timeouts."""

    def ping() -> object:
        ivvy = rt.config.ivvy
        with IvvyClient(ivvy.key, ivvy.secret, base_url=ivvy.base_url, timeout=PING_TIMEOUT) as c:
            return c.ping()

    return IvvyCheck(ping)


def init_app(app: Flask) -> None:
    """Register the routes with this app's iVvy check."""
    app.extensions["bridge.ivvy_check"] = ivvy_check_for(app.extensions["bridge"])
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> Response:
    """Always 200 while the process can answer."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """200 when the database is reachable and migrated and the config loaded; iVvy reported."""
    rt = runtime()
    checks: dict[str, str] = {"config": "ok"}
    ready = True
    try:
        current = schema_is_current(rt.engine)
        checks["database"] = "ok"
        if not current:
            checks["migrations"] = "pending: run `bridge db upgrade`"
            ready = False
        else:
            checks["migrations"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
        ready = False
    check: IvvyCheck | None = current_app.extensions.get("bridge.ivvy_check")
    if check is not None:
        checks["ivvy"] = check.status(rt.clock())
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    return response
