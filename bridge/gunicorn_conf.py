"""gunicorn settings the bridge relies on (loaded with ``--config python:bridge.gunicorn_conf``).

Preloaded.  The master builds the app (imports, config, rules) once and the
workers fork from it, so those pages are shared instead of copied into every
worker; ``pre_fork`` freezes the garbage collector's view of them, so that a
collection in a worker does not write to (and thereby copy) every inherited
object.  That saves 29-43 MiB of the deployment (BENCHMARKS.md, "Memory").
Nothing the master holds at the fork belongs to one process: it opens no
database engine (each worker makes its own on first use, and ``EngineHolder``
drops one inherited by pid: store/db.py), starts no thread of the app's (the
body-deadline watcher starts in each worker at its first body), opens no
prometheus_client file (each worker opens its own, named by its pid, at its
first count), and Python and gunicorn reseed ``random`` and remake the logging
locks in the child.  gunicorn 27's own control-socket thread runs in the master
once the first workers are up.  The 500 that once had preloading turned off was
a scrape reading another process's metrics file before it was sized, not the
fork (web/metrics.py).  With the app preloaded, a SIGHUP forks new workers from
the app the master already loaded: a changed config or code takes a restart,
which is what a deploy does.
gunicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (default 127.0.0.1).

Slow clients.  gunicorn's sync worker serves one connection at a time, so two
senders trickling a body in froze a two-worker bridge.  The bridge runs the
``gthread`` worker instead: each process serves ``WEB_THREADS`` (default 16)
requests at once, a connection that has sent nothing yet waits in the worker's
poller without a thread, and a body still arriving after
``BRIDGE_BODY_READ_SECONDS`` (10) is cut and answered 408 (web/body_deadline.py).
So a slow sender holds one thread for at most that long, and health checks and
other senders go on being served while fewer than workers x threads bodies
trickle at once.  The router in front is not counted on: what a PaaS router
buffers differs by platform and router generation, and a body may reach the
dyno as slowly as the client sends it.
"""

from __future__ import annotations

import gc
import os
import sys

from bridge.settings import web_threads

# The app logs each request itself, as JSON; gunicorn's own errors go to stderr.
accesslog = None
errorlog = "-"
# Let in-flight requests finish their commit on a deploy's SIGTERM.
graceful_timeout = 20
preload_app = True
# ``WEB_WORKER_CLASS=sync`` goes back to one request per process: only behind a proxy
# that buffers whole requests (bench/worker_class_ab.py compares the two).
worker_class = os.environ.get("WEB_WORKER_CLASS") or "gthread"
# gunicorn quietly swaps a ``sync`` worker given more than one thread for ``gthread``,
# so ``sync`` must come with one thread to be sync at all.
threads = 1 if worker_class == "sync" else web_threads()


def pre_fork(_server: object, _worker: object) -> None:
    """Move everything alive now out of the collector's generations before the fork."""
    # Output the master buffered would otherwise be written again by each child.
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()


def child_exit(_server: object, worker: object) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
