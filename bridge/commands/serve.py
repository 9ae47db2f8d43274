"""``bridge serve``: the web process under gunicorn, on $PORT."""

from __future__ import annotations

import argparse
import os
import sys

from bridge.config import ConfigError, load_config
from bridge.malloc_arenas import limit_for_exec
from bridge.metrics_dir import use_multiprocess_dir
from bridge.settings import Settings, web_threads
from bridge.store.diagnose import parse_database_url


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command."""
    parser = sub.add_parser(
        "serve",
        help="run the web process (gunicorn on $PORT)",
        description="Validate $BRIDGE_CONFIG, then run the web process (webhooks, status pages, "
        "admin API) under gunicorn. Exits 1 on an invalid config or DATABASE_URL.",
    )
    parser.add_argument("--port", type=int, help="port to bind (default: $PORT or 8000)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")  # noqa: S104
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (default: $WEB_CONCURRENCY or 2)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="threads per worker (default: $WEB_THREADS or 16; see bridge/gunicorn_conf.py)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the config, then replace this process with gunicorn."""
    settings = Settings.from_env()
    web_threads()  # gunicorn's config reads it: a bad one is one line here, not its error
    parse_database_url(settings.database_url)  # a bad URL is one line here, not a boot loop
    try:
        load_config(settings.config_path)  # refuse to start before binding the port
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    # gunicorn's workers inherit the directory and add up their metrics there.
    use_multiprocess_dir(os.environ, clean=True)
    port = args.port or settings.port
    workers = args.workers or int(os.environ.get("WEB_CONCURRENCY") or 2)
    argv = [
        "gunicorn",
        # The gthread worker (set in gunicorn_conf) serves many requests per process,
        # so slow senders cannot take every worker; see gunicorn_conf's docstring.
        *(["--threads", str(args.threads)] if args.threads else []),
        "--bind",
        f"{args.host}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(settings.web_timeout),
        "--config",
        "python:bridge.gunicorn_conf",
        "bridge:create_app()",
    ]
    limit_for_exec(os.environ)  # glibc reads it as gunicorn starts; its workers inherit it
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", *argv[1:]])  # noqa: S606
    return 0  # not reached
