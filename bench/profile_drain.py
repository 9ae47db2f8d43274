"""CPU per job in-process: ``Worker.run_pending`` against the sandbox iVvy in its own process.

The events are seeded as the web process would store them; one thread of this process then
runs every job (claim, rules, one ``addOrUpdateTask``, settle), and ``time.process_time``
counts this process's CPU only (the sandbox's is not in it). Dividing by the number of jobs
gives the CPU one job costs the worker, which caps what one worker process can drain on one
core. ``--profile`` adds a cProfile sorted by cumulative time.

    .venv/bin/python bench/profile_drain.py --jobs 300 [--db postgres] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack
from bench.seed import seeded_worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(directory / "sandbox.log")
        try:
            config = stack.bench_config(directory, ivvy_url)
            for run in range(args.runs + (1 if args.profile else 0)):
                (directory / f"run{run}").mkdir()
                with seeded_worker(
                    args.db, directory / f"run{run}", config, f"run{run}", args.jobs
                ) as worker:
                    profiler = cProfile.Profile() if run == args.runs else None
                    started = time.process_time()
                    if profiler:
                        profiler.enable()
                    done = worker.run_pending(args.jobs)
                    if profiler:
                        profiler.disable()
                    cpu_ms = (time.process_time() - started) / done * 1000
                    print(f"run {run}: {done} jobs, CPU {cpu_ms:.2f} ms/job")
                if profiler:
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("cumulative").print_stats(50)
                    print(out.getvalue())
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
