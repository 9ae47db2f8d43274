"""``bridge worker``: the process that turns stored events into iVvy tasks."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from bridge.config import ConfigError
from bridge.logs import configure_logging
from bridge.malloc_arenas import limit_here
from bridge.metrics_dir import use_multiprocess_dir
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.diagnose import parse_database_url

# The worker's threads hand the GIL to each other around every database and
# socket call.  At CPython's default 5 ms switch interval a thread that got its
# answer waits up to 5 ms for a thread busy in Python to let go, and that queue
# (holding the database connection meanwhile) capped a worker at ~140 tasks/s;
# at 0.5 ms it reached ~210 (bench/drain.py, 16 threads, see BENCHMARKS.md).
SWITCH_INTERVAL_SECONDS = 0.0005


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``worker`` sub-command."""
    parser = sub.add_parser(
        "worker",
        help="run the delivery worker",
        description="Claim stored events' jobs and create their tasks in iVvy, until SIGTERM "
        "(jobs in flight finish or are released). Exits 1 on an invalid config or DATABASE_URL.",
    )
    parser.add_argument("--concurrency", type=int, help="threads (default: delivery.concurrency)")
    parser.add_argument("--poll", type=float, help="seconds between polls when idle")
    parser.add_argument(
        "--shutdown-timeout", type=float, default=25.0, help="seconds to finish jobs on SIGTERM"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the worker until SIGTERM."""
    use_multiprocess_dir(os.environ, clean=False)  # before prometheus_client is imported
    limit_here()  # before any thread starts
    from bridge.worker import Worker

    settings = Settings.from_env()
    parse_database_url(settings.database_url)
    try:
        runtime = Runtime.from_env(settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    configure_logging(runtime.settings.log_level, runtime.secret_values())
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    threads = args.concurrency or runtime.config.delivery.concurrency
    # A connection for every thread, and for the heartbeat, wake-up, pruning and
    # alert threads: a thread waiting for a pooled connection holds up its job.
    runtime = replace(runtime, pool_size=threads + 4)
    worker = Worker(
        runtime,
        concurrency=threads,
        poll_interval=args.poll,
        shutdown_timeout=args.shutdown_timeout,
    )
    return worker.run()
