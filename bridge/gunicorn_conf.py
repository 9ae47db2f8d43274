"""gunicorn settings the bridge relies on (loaded with ``--config python:bridge.gunicorn_conf``).

The app is not preloaded: each worker builds it after the fork, and the
database engine is created on first use in that worker (see store/db.py).
gunicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (default 127.0.0.1).
"""

from __future__ import annotations

# The app logs each request itself, as JSON; gunicorn's own errors go to stderr.
accesslog = None
errorlog = "-"
# Let in-flight requests finish their commit on a deploy's SIGTERM.
graceful_timeout = 20
preload_app = False


def child_exit(_server: object, worker: object) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
