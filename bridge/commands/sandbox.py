"""``bridge sandbox``: the bridge, a worker and the sandbox iVvy together, on this machine.

Everything is real: gunicorn serves the bridge, a ``bridge worker`` process
delivers, and the sandbox iVvy answers over HTTP.  The sandbox starts empty
each time (its iVvy lives in memory; its database file is recreated), but only
after it has made sure that no other process uses its port or its data folder:
a second sandbox started by mistake refuses and leaves the first one alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bridge.commands._guard import (
    FolderInUse,
    FolderLock,
    describe_process,
    port_holder,
    port_taken,
)
from bridge.commands._sandbox_curl import CurlLine, curl_for
from bridge.config import Config, ConfigError, load_config
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.migrate import upgrade

DEFAULT_CONFIG = Path("examples/sandbox.yaml")
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - a local sandbox, not a secret
SANDBOX_ADMIN_TOKEN = "sandbox-admin"  # noqa: S105
HOST = "127.0.0.1"
# The config is loaded with this address first, to learn whether it uses the sandbox at all.
PROBE_IVVY_URL = "http://sandbox-ivvy.invalid"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` sub-command."""
    parser = sub.add_parser(
        "sandbox",
        help="run the bridge against the sandbox iVvy, locally",
        description="Run the bridge (gunicorn), a worker and the sandbox iVvy (a fake of iVvy's "
        "API in this process) on 127.0.0.1, and print a curl line that posts an example "
        "payload. Refuses (exit 1) when the port or the data folder is in use. Ctrl-C stops it.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8000),
        metavar="PORT",
        help="port of the bridge (default: $PORT or 8000)",
    )
    parser.add_argument(
        "--ivvy-port", type=int, default=0, metavar="PORT", help="sandbox iVvy port (0: any)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"config file; its ivvy section must use base_url: ${{IVVY_BASE_URL}} "
        f"(default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var"),
        metavar="DIR",
        help="folder of the sandbox's database (sandbox.sqlite, wiped at each start), its "
        "lock file and metrics (default var)",
    )
    parser.set_defaults(func=run)


def sandbox_env(config: Path, database_url: str, ivvy_url: str, data_dir: Path) -> dict[str, str]:
    """The environment the bridge's processes run with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "BRIDGE_CONFIG": str(config),
        "IVVY_BASE_URL": ivvy_url,
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "BRIDGE_SANDBOX_TOKEN": SANDBOX_TOKEN,
        # The operator's own token wins; the welcome text names the one in force.
        "BRIDGE_ADMIN_TOKEN": os.environ.get("BRIDGE_ADMIN_TOKEN") or SANDBOX_ADMIN_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str((data_dir / "sandbox-metrics").resolve()),
    }


def _refuse(message: str) -> int:
    print(f"bridge sandbox: {message}", file=sys.stderr)
    return 1


def _check_config(path: Path, env: dict[str, str]) -> Config | int:
    """The config as the sandbox will run it, or an exit status after saying what is wrong."""
    if not path.exists():
        hint = (
            " (run `bridge sandbox` from the repository's top folder)"
            if path == DEFAULT_CONFIG
            else ""
        )
        return _refuse(f"{path} not found{hint}")
    try:
        config = load_config(path, env=env)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    if config.ivvy.base_url.rstrip("/") != PROBE_IVVY_URL:
        return _refuse(
            f"{path} sends to {config.ivvy.base_url}, not to the sandbox iVvy: remove its "
            "ivvy region/base_url or write `base_url: ${IVVY_BASE_URL}`"
        )
    return config


def _check_ports(ports: list[int]) -> str | None:
    for port in ports:
        if port and port_taken(HOST, port):
            holder = port_holder(port)
            who = describe_process(holder) if holder else "another process"
            return f"port {port} is in use by {who}; stop it or choose another --port"
    return None


def run(args: argparse.Namespace) -> int:
    """Check, then start the three parts, print where they are, and run until Ctrl-C."""
    data_dir: Path = args.data_dir
    database = data_dir / "sandbox.sqlite"
    database_url = f"sqlite:///{database}"
    # Nothing is touched before these checks pass: no folder, no file, no port.
    probe_env = sandbox_env(args.config, database_url, PROBE_IVVY_URL, data_dir)
    config = _check_config(args.config, probe_env)
    if isinstance(config, int):
        return config
    problem = _check_ports([args.port, args.ivvy_port])
    if problem:
        return _refuse(problem)
    lock = FolderLock(data_dir)
    try:
        lock.acquire()
    except FolderInUse as exc:
        who = describe_process(exc.pid) if exc.pid else "another process"
        return _refuse(
            f"{data_dir} is in use by {who} (another sandbox?); stop it or choose another "
            "--data-dir"
        )
    try:
        return _run_locked(args, config, database, database_url)
    finally:
        lock.release()


def _run_locked(args: argparse.Namespace, config: Config, database: Path, url: str) -> int:
    for leftover in args.data_dir.glob("sandbox.sqlite*"):
        leftover.unlink()
    upgrade(url)
    ivvy = SandboxServer(port=args.ivvy_port).start()
    env = sandbox_env(args.config, url, ivvy.url, args.data_dir)
    bridge = [sys.executable, "-m", "bridge.cli"]
    serve = [*bridge, "serve", "--host", HOST, "--port", str(args.port), "--workers", "2"]
    children = [
        subprocess.Popen(serve, env=env),
        subprocess.Popen([*bridge, "worker", "--concurrency", "4"], env=env),
    ]
    stop = threading.Event()
    # Ctrl-C reaches the whole process group: the bridge's processes stop on it whatever
    # this one's disposition, so this one stops on it too.  Python's own KeyboardInterrupt
    # would not come where SIGINT started out ignored (a script's background job).
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, lambda *_: stop.set())
    web_url = f"http://{HOST}:{args.port}"
    status = 0
    try:
        if not _wait_up(web_url + "/healthz", children, stop):
            print(
                "bridge sandbox: the bridge did not start; see the messages above", file=sys.stderr
            )
            return 1
        _print_welcome(web_url, ivvy.url, database, curl_for(config, web_url), env)
        while not stop.is_set() and all(child.poll() is None for child in children):
            stop.wait(0.5)
        if not stop.is_set():
            print("bridge sandbox: a process of the bridge stopped; stopping", file=sys.stderr)
            status = 1
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        ivvy.stop()
    return status


def _wait_up(url: str, children: list[subprocess.Popen[bytes]], stop: threading.Event) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children):
            return False
        try:
            if requests.get(url, timeout=1).status_code == 200:
                # Answered, and our processes are still alive: it is ours that answered.
                return all(child.poll() is None for child in children)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def _print_welcome(
    web_url: str, ivvy_url: str, database: Path, curl: CurlLine | None, env: dict[str, str]
) -> None:
    if curl is None:
        send = (
            "  No source of this config takes a token or a signature this command can make\n"
            "  (form, typeform, calendly, formspree): post to /hooks/<source> as its sender does."
        )
    else:
        send = (
            f"  Send the example to the source {curl.source!r}, then look at the tasks:\n\n"
            f"    {curl.command}\n    curl -sS {ivvy_url}/_sandbox/tasks"
        )
    print(
        f"""
  The bridge is running against the sandbox iVvy.

    bridge (webhooks, status pages)  {web_url}/        admin token: {env["BRIDGE_ADMIN_TOKEN"]}
    sandbox iVvy (what it holds)     {ivvy_url}/_sandbox/
    tasks created so far (JSON)      {ivvy_url}/_sandbox/tasks
    database (SQLite, wiped at start) {database.resolve()}

{send}

  Ctrl-C stops everything.
""",
        flush=True,
    )
