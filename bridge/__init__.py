"""The iVvy task bridge: webhooks in, follow-up tasks in iVvy out."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

# Nothing heavy here: every ``bridge.*`` import runs this file first, and the worker
# process, the commands and gunicorn's config module need no Flask.
if TYPE_CHECKING:
    from flask import Flask

    from bridge.runtime import Runtime
    from bridge.settings import Settings


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """The WSGI application: settings, then the config file, then the routes.

    The config file is validated here, so a web process refuses to start on
    an invalid one.  Database connections are opened on first use, in the
    process that uses them (after gunicorn forks).
    """
    from flask import Flask, g, request

    from bridge.logs import configure_logging
    from bridge.runtime import Runtime
    from bridge.web import api, errors, health, hooks, metrics, request_log, ui

    # The pool's five PostgreSQL connections and no more.  With overflow allowed, a request
    # that found the five in use opened a connection and closed it after: 250-400 in ten
    # seconds of load (BENCHMARKS.md, "Ingest").  Such a request now waits a moment for one
    # of the five, which cost no throughput there, and a deployment holds a known number.
    runtime = runtime or Runtime.from_env(settings, pool_overflow=0)
    admin_token = [runtime.settings.admin_token] if runtime.settings.admin_token else []
    configure_logging(runtime.settings.log_level, [*runtime.secret_values(), *admin_token])

    app = Flask(__name__)
    app.config.update(
        # Bodies are counted by the ingest route itself (chunked ones too);
        # this is the backstop for every other route.
        MAX_CONTENT_LENGTH=runtime.settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.extensions["bridge"] = runtime

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-Id"] = g.get("request_id", "")
        # No answer is to be sniffed into another type; admin answers hold events'
        # personal data and are never to be kept by a browser or a proxy.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    errors.init_app(app)
    request_log.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    app.before_request(errors.refuse_nul_in_url)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ui.bp)
    return app
