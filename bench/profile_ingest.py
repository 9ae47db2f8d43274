"""CPU per webhook in-process: the bridge's ``/hooks/<source>`` against the bare app.

Both apps are called through Flask's test client (no sockets, no gunicorn), so the number is
the Python work per request plus the commit; ``time.process_time`` counts only this process's
CPU, which makes it steady on a busy machine. ``--profile`` adds a cProfile of the bridge,
sorted by cumulative time (or ``--sort tottime``; ``--callers REGEX`` shows who calls what),
so the hot spots can be read next to the totals.

    .venv/bin/python bench/profile_ingest.py --requests 600 [--profile [--sort tottime]]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signed import SOURCE, body_for, headers
from bench.stack import bench_config, bridge_database, bridge_env


def _cpu_per_request(client: Any, bodies: list[bytes], path: str) -> float:
    started = time.process_time()
    for body in bodies:
        response = client.post(path, data=body, headers=headers(body))
        if response.status_code != 202:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data()[:200]!r}")
    return (time.process_time() - started) / len(bodies) * 1000


def _bridge_client(directory: Path, database_url: str) -> Any:
    config = bench_config(directory, "http://127.0.0.1:9")
    os.environ.update(bridge_env(database_url, config, LOG_LEVEL="INFO"))
    from bridge import create_app

    return create_app().test_client()


def _bare_client(directory: Path) -> Any:
    from bench.bare_app import create_app, create_table

    url = f"sqlite:///{directory / 'bare.sqlite'}"
    create_table(url)
    return create_app(url).test_client()


def _stored_bytes(database_url: str) -> str:
    """Bytes per stored event row: the body, the event's JSON, the headers' JSON."""
    from sqlalchemy import create_engine, text

    if database_url.startswith("sqlite"):
        sizes = "length(body), length(CAST(event AS BLOB)), length(CAST(headers AS BLOB))"
    else:
        sizes = "octet_length(body), octet_length(event::text), octet_length(headers::text)"
    averages = ", ".join(f"avg({size})" for size in sizes.split(", "))
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(f"SELECT count(*), {averages} FROM events")).one()
    finally:
        engine.dispose()
    # An event the worker has not parsed yet has no JSON (NULL): its average is NULL too.
    count, body, event, stored = row[0], float(row[1]), float(row[2] or 0), float(row[3])
    return (
        f"stored bytes per event row ({count} rows): body {body:.0f}, event {event:.0f}, "
        f"headers {stored:.0f}, total {body + event + stored:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    parser.add_argument(
        "--sort", default="cumulative", help="profile order: cumulative, tottime, ncalls..."
    )
    parser.add_argument("--callers", help="also show who calls functions matching this regex")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bridge_database(args.db, Path(tmp)) as url:
        directory = Path(tmp)
        bridge = _bridge_client(directory, url)
        bare = _bare_client(directory)
        warm = [body_for("warm", n) for n in range(50)]
        _cpu_per_request(bridge, warm, f"/hooks/{SOURCE}")
        _cpu_per_request(bare, warm, "/hooks/bare")
        results: dict[str, list[float]] = {"bare": [], "bridge": []}
        for run in range(args.runs):
            bodies = [body_for(f"run{run}", n) for n in range(args.requests)]
            results["bare"].append(_cpu_per_request(bare, bodies, "/hooks/bare"))
            results["bridge"].append(_cpu_per_request(bridge, bodies, f"/hooks/{SOURCE}"))
        for name, values in results.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name:6} CPU ms/request: median {statistics.median(values):.2f} ({shown})")
        ratio = statistics.median(results["bridge"]) / statistics.median(results["bare"])
        print(f"bridge / bare CPU: {ratio:.2f}")
        print(_stored_bytes(url))
        if args.profile:
            bodies = [body_for("profile", n) for n in range(args.requests)]
            profiler = cProfile.Profile()
            profiler.enable()
            _cpu_per_request(bridge, bodies, f"/hooks/{SOURCE}")
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(45)
            if args.callers:
                pstats.Stats(profiler, stream=out).print_callers(args.callers)
            print(out.getvalue())


if __name__ == "__main__":
    main()
