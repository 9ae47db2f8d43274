"""CPU per webhook, split between the app and the database server: bare app and bridge.

Every app runs in this process through Flask's test client (no sockets, no gunicorn), on a
fresh database of the chosen kind, in alternating rounds.  Per request it reports:

- ``app``: this process's CPU (``time.process_time``): Flask, the app's own work, the driver;
- ``server``: on PostgreSQL, the CPU every ``postgres`` process on the machine spent in the
  same interval (``utime + stime`` from ``/proc/<pid>/stat``: the backend, the WAL writer,
  the checkpointer), so what a request costs the cores it shares with the database;
- ``total``: the two added.

``bridge-log``, ``bridge-counters`` are the bridge without the request's log line or its ingest
counters (``--without``), to size each of those; ``bridge-preping`` is the bridge with the
pool's old pre-ping switched back on (every checkout pinged), to compare the idle ping within
one run; ``bridge-notices`` is the bridge without the notices its thread sends the workers
after each accept (``store.job_notices``), to size those.  (Until 2026-12-07 these variants
were of ``door``, a prototype of the door that parses nothing, which the bridge itself now is.)

On a machine where gunicorn, PostgreSQL and the load generator share the cores, a saturated
rate follows the total CPU per request, so ``bare total ÷ app total`` is the ratio the
saturated ingest can reach at most.  Nothing else should run on the machine meanwhile: other
databases' backends count as server CPU (the output gives the load average before and after).

    .venv/bin/python bench/ingest_cpu.py --db postgres --requests 600 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signed import SOURCE, body_for, headers
from bench.stack import bench_config, bridge_database, bridge_env, fresh_database

_TICK = os.sysconf("SC_CLK_TCK")


def _server_cpu() -> float:
    """Seconds of CPU used so far by every process named ``postgres`` (0 when none)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
        if name != b"postgres":
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICK


def _round(
    client: Any, path: str, bodies: list[bytes], notices: bool = True
) -> tuple[float, float]:
    """(app, server) CPU in ms per request for posting ``bodies``; ``notices=False`` sends the
    workers no notice after each accept (the apps share the module, so it is set per round)."""
    from bridge.store import accept_statements, job_notices

    accept_statements.jobs_committed = (  # type: ignore[assignment]
        job_notices.jobs_committed if notices else lambda _engine: None
    )
    server, app = _server_cpu(), time.process_time()
    try:
        for body in bodies:
            response = client.post(path, data=body, headers=headers(body))
            if response.status_code != 202:
                raise RuntimeError(f"{path}: {response.status_code} {response.get_data()[:200]!r}")
        app, server = time.process_time() - app, _server_cpu() - server
    finally:
        accept_statements.jobs_committed = job_notices.jobs_committed
    return app / len(bodies) * 1000, server / len(bodies) * 1000


def _apps(
    stack: ExitStack, kind: str, tmp: Path, variants: list[str]
) -> dict[str, tuple[Any, str]]:
    url = stack.enter_context(bridge_database(kind, tmp))
    config = bench_config(tmp, "http://127.0.0.1:9")
    os.environ.update(bridge_env(url, config, LOG_LEVEL="INFO"))
    from bench.bare_app import create_app as bare_app
    from bench.bare_app import create_table
    from bridge import create_app

    bare_url = stack.enter_context(fresh_database(kind, tmp, "bare"))
    create_table(bare_url)
    apps = {
        "bare": (bare_app(bare_url).test_client(), "/hooks/bare"),
        "bridge": (create_app().test_client(), f"/hooks/{SOURCE}"),
    }
    for variant in variants:  # e.g. "bridge-log-counters": without the log line and counters
        if variant in ("bridge-preping", "bridge-notices"):
            app = _bridge_with_pre_ping() if variant == "bridge-preping" else create_app()
            apps[variant] = (app.test_client(), f"/hooks/{SOURCE}")
            continue
        parts = variant.split("-")[1:]
        apps[variant] = (_bridge_without(*parts).test_client(), f"/hooks/{SOURCE}")
    return apps


def _bridge_with_pre_ping() -> Any:
    """The bridge with the pool's pre-ping back on (every checkout pinged, as before the idle
    ping), so that one run compares the two on the same machine state."""
    from bridge import create_app

    app = create_app()
    app.extensions["bridge"].engine.pool._pre_ping = True
    return app


_PARTS = {"log": "_log_request", "counters": "count_ingest"}


def _bridge_without(*parts: str) -> Any:
    """The bridge without some of: its request log line, its ingest counters.

    Not a product: it sizes each part of what the door still spends beyond the bare app.
    """
    from bridge import create_app

    app = create_app()
    dropped = {_PARTS[p] for p in parts if p in _PARTS}
    app.after_request_funcs[None] = [
        f for f in app.after_request_funcs[None] if getattr(f, "__name__", "") not in dropped
    ]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--without",
        nargs="*",
        default=["bridge-log", "bridge-counters", "bridge-log-counters"],
        help="bridge variants: bridge-PART[-PART...], parts log, counters; bridge-preping; "
        "bridge-notices",
    )
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        apps = _apps(stack, args.db, Path(tmp), args.without)
        for name, (client, path) in apps.items():  # warm each app, its pool and its caches
            _round(client, path, [body_for(f"warm-{name}", n) for n in range(50)])
        seen: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
        for r in range(args.rounds):
            for name, (client, path) in apps.items():
                bodies = [body_for(f"{name}-{r}", n) for n in range(args.requests)]
                seen[name].append(_round(client, path, bodies, name != "bridge-notices"))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    median: Callable[[list[float]], float] = statistics.median
    totals = {name: median([a + s for a, s in rounds]) for name, rounds in seen.items()}
    print(f"{args.db}, {args.rounds} rounds x {args.requests} requests, CPU ms per request:")
    print(f"{'app':24} app    server total  (total per round)  bare total / total")
    for name, rounds in seen.items():
        app, server = median([a for a, _ in rounds]), median([s for _, s in rounds])
        per_round = " ".join(f"{a + s:.2f}" for a, s in rounds)
        print(
            f"{name:24} {app:5.2f}  {server:5.2f}  {totals[name]:5.2f}   ({per_round})"
            f"   {totals['bare'] / totals[name]:.2f}"
        )


if __name__ == "__main__":
    main()
