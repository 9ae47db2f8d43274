"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bridge.store.migrate import current_revision, head_revision
from bridge.web.runtime_access import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Always 200 while the process can answer."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """200 when the database is reachable and migrated and the config is loaded; else 503."""
    rt = runtime()
    checks: dict[str, str] = {"config": "ok"}
    ready = True
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision(conn)
        checks["database"] = "ok"
        if revision != head_revision():
            checks["migrations"] = "pending: run `bridge db upgrade`"
            ready = False
        else:
            checks["migrations"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
        ready = False
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    return response
