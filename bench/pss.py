"""PSS of a whole default deployment: ``bridge serve`` (gunicorn's master and its workers) and
``bridge worker``, as the Procfile starts them, idle and after N events.

    .venv/bin/python bench/pss.py --db sqlite --events 10000
    .venv/bin/python bench/pss.py --db postgres --variant base=repo:/tmp/pss-base \\
        --variant preload=env:GUNICORN_CMD_ARGS=--preload --rounds 2 --n8n /tmp/n8n

Each process is started with the Procfile's command and nothing else: no ``--workers``,
``--threads`` or ``--concurrency``, and none of WEB_CONCURRENCY, WEB_THREADS or
WEB_WORKER_CLASS in the environment, so gunicorn runs its default workers and worker class and
the worker its configured threads.  A variant runs the deployment from another checkout
(``repo:PATH``, e.g. ``git worktree add --detach /tmp/pss-base main``) and/or with more
environment (``env:KEY=VALUE``); variants alternate within each round, each on a fresh
database, so before and after are measured in one run.  The sandbox iVvy answers at once.

Per process: smaps_rollup's Pss (and Rss, Pss_Anon, Pss_File, Uss); per deployment their
sum and the distinct pages of the group (bench/procmem.py says why both).  ``--n8n DIR`` also
starts ``DIR/node_modules/.bin/n8n start`` with its SQLite defaults in a fresh
N8N_USER_FOLDER in each round and measures its process tree idle the same way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine, procmem, stack
from bench.memory import _jobs
from bench.senders import Senders
from tests.support.processes import free_port

TARGET_MIB = 554 / 4  # a quarter of n8n 2.8.4's 464 MiB + its 90 MiB task runner (issue 15)
NOT_DEFAULT = ("WEB_CONCURRENCY", "WEB_THREADS", "WEB_WORKER_CLASS", "GUNICORN_CMD_ARGS")


def _variant(text: str) -> tuple[str, Path, dict[str, str]]:
    label, _, spec = text.partition("=")
    repo, env = stack.REPO, {}
    for item in filter(None, spec.split(",")):
        kind, _, value = item.partition(":")
        if kind == "repo":
            repo = Path(value).resolve()
        elif kind == "env":
            key, _, val = value.partition("=")
            env[key] = val
        else:
            raise SystemExit(f"--variant {text!r}: items are repo:PATH or env:KEY=VALUE")
    return label, repo, env


def _measure(web: stack.Child, worker: stack.Child) -> dict[str, Any]:
    return procmem.group(
        {
            "web_master": [web.pid],
            "web_workers": procmem.descendants(web.pid),
            "worker": [worker.pid, *procmem.descendants(worker.pid)],
        }
    )


def _deployment(
    db: str, repo: Path, extra: dict[str, str], home: Path, ivvy_url: str, events: int
) -> dict[str, Any]:
    """Start web and worker from ``repo``; measure idle, send ``events``, drain, measure."""
    snapshots: dict[str, Any] = {}
    with stack.bridge_database(db, home) as url:
        env = stack.bridge_env(
            url,
            stack.bench_config(home, ivvy_url),
            PYTHONPATH=str(repo),
            PROMETHEUS_MULTIPROC_DIR=str(home / "metrics"),
            **extra,
        )
        port = free_port()
        cli = [sys.executable, "-m", "bridge.cli"]
        web = stack.Child(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env,
            home / "web.log",
            cwd=repo,
        )
        base = f"http://127.0.0.1:{port}"
        children = [web]
        try:
            stack.wait_until_up(base + "/healthz", web)
            children.append(stack.Child([*cli, "worker"], env, home / "worker.log", cwd=repo))
            time.sleep(5)  # every gunicorn worker booted, the worker's threads idle
            snapshots["idle"] = _measure(web, children[1])
            if events:
                started = time.monotonic()
                senders = Senders(f"{base}/hooks/typeform-form", "pss", threads=8, limit=events)
                senders.start().join()
                while True:
                    total, done = _jobs(url)
                    if done >= total:
                        break
                    time.sleep(1)
                snapshots["events"] = _measure(web, children[1])
                snapshots["events"].update(
                    count=total,
                    seconds=round(time.monotonic() - started, 1),
                    statuses=dict(senders.statuses),
                )
        finally:
            for child in reversed(children):
                child.stop()
    return snapshots


def _n8n(directory: Path, home: Path, settle: float) -> dict[str, Any]:
    """n8n started with its defaults (SQLite in N8N_USER_FOLDER), its process tree idle."""
    port = free_port()
    env = {
        "N8N_USER_FOLDER": str(home / "n8n-home"),
        "N8N_PORT": str(port),
        "N8N_LISTEN_ADDRESS": "127.0.0.1",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
    }
    child = stack.Child(
        [str(directory / "node_modules" / ".bin" / "n8n"), "start"],
        env,
        home / "n8n.log",
        cwd=directory,
    )
    try:
        stack.wait_until_up(f"http://127.0.0.1:{port}/healthz", child, timeout=180)
        time.sleep(settle)
        tree = [child.pid, *procmem.descendants(child.pid)]
        names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:200].decode() for pid in tree}
        measured = procmem.group({"n8n": tree})
        measured["cmdlines"] = {str(pid): name.replace("\0", " ") for pid, name in names.items()}
        return measured
    finally:
        child.stop()


def _line(label: str, state: str, snapshot: dict[str, Any]) -> str:
    parts = []
    for role, entries in snapshot["processes"].items():
        pss = " + ".join(f"{entry['Pss']:.1f}" for entry in entries)
        parts.append(f"{role} {pss}")
    total = snapshot["sum"]
    return (
        f"{label:>10} {state:>6}: PSS {total['Pss']:6.1f} MiB (Rss {total['Rss']:6.1f}, "
        f"anon {total['Pss_Anon']:6.1f}, distinct {snapshot['distinct_mib']}) | " + "; ".join(parts)
    )


def _mapping_line(snapshot: dict[str, Any]) -> str:
    """Each role's PSS (its processes together) by what the mappings hold."""
    parts = []
    for role, entries in snapshot["processes"].items():
        classes: dict[str, float] = {}
        for entry in entries:
            for name, mib in entry["by_mapping"].items():
                classes[name] = classes.get(name, 0.0) + mib
        parts.append(f"{role}: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(classes.items())))
    return "            by mapping: " + " | ".join(parts)


def main() -> None:
    """Run the PSS benchmark and append its result to bench/results/pss.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[], help="LABEL=repo:P,env:K=V")
    parser.add_argument("--no-current", action="store_true", help="only the --variant ones")
    parser.add_argument("--n8n", type=Path, help="a folder where `npm install n8n` ran")
    parser.add_argument("--n8n-settle", type=float, default=30.0)
    parser.add_argument(
        "--by-mapping",
        action="store_true",
        help="also print each role's PSS by what its mappings hold (always recorded)",
    )
    args = parser.parse_args()
    for name in NOT_DEFAULT:
        os.environ.pop(name, None)
    variants = [] if args.no_current else [("current", stack.REPO, {})]
    variants += [_variant(text) for text in args.variant]
    load_at_start = machine.load_average()
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in variants}
    n8n_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-pss-") as tmp:
        root = Path(tmp)
        sandbox, ivvy_url = stack.start_sandbox(root / "sandbox.log")
        try:
            for number in range(args.rounds):
                for label, repo, extra in variants:
                    home = root / f"{label}-{number}"
                    home.mkdir()
                    result = _deployment(args.db, repo, extra, home, ivvy_url, args.events)
                    runs[label].append(result)
                    for state, snapshot in result.items():
                        print(_line(label, state, snapshot), flush=True)
                        if args.by_mapping:
                            print(_mapping_line(snapshot), flush=True)
                if args.n8n:
                    home = root / f"n8n-{number}"
                    home.mkdir()
                    n8n_runs.append(_n8n(args.n8n.resolve(), home, args.n8n_settle))
                    print(_line("n8n", "idle", n8n_runs[-1]), flush=True)
        finally:
            sandbox.stop()
    summary = {
        label: {
            state: statistics.median(run[state]["sum"]["Pss"] for run in results)
            for state in results[0]
        }
        for label, results in runs.items()
    }
    if n8n_runs:
        summary["n8n"] = {"idle": statistics.median(run["sum"]["Pss"] for run in n8n_runs)}
    print("median PSS sums (MiB):", summary)
    result = {
        "db": args.db,
        "events": args.events,
        "load_average_at_start": load_at_start,
        "load_average_at_end": machine.load_average(),
        "variants": {label: {"repo": str(repo), "env": env} for label, repo, env in variants},
        "runs": runs,
        "n8n": n8n_runs,
        "median_pss_sum_mib": summary,
        "target_mib_at_most": round(TARGET_MIB, 1),
    }
    print(f"appended to {machine.record('pss', result)}")


if __name__ == "__main__":
    main()
