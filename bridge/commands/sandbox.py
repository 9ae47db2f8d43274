"""``bridge sandbox``: the bridge, a worker and the sandbox iVvy together, on this machine.

Everything is real: gunicorn serves the bridge, a ``bridge worker`` process
delivers, and the sandbox iVvy answers over HTTP.  The sandbox starts empty
each time (its iVvy lives in memory; its database file is recreated).
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

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.migrate import upgrade

DEFAULT_CONFIG = Path("examples/sandbox.yaml")
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - a local sandbox, not a secret
SANDBOX_ADMIN_TOKEN = "sandbox-admin"  # noqa: S105


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` sub-command."""
    parser = sub.add_parser("sandbox", help="run the bridge against the sandbox iVvy, locally")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--ivvy-port", type=int, default=0, help="sandbox iVvy port (0: any)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the three parts, print where they are, and run until Ctrl-C."""
    if not args.config.exists():
        print(
            f"{args.config} not found: run `bridge sandbox` from the repository's top folder",
            file=sys.stderr,
        )
        return 1
    args.data_dir.mkdir(parents=True, exist_ok=True)
    database = args.data_dir / "sandbox.sqlite"
    for leftover in args.data_dir.glob("sandbox.sqlite*"):
        leftover.unlink()
    database_url = f"sqlite:///{database}"
    upgrade(database_url)

    ivvy = SandboxServer(port=args.ivvy_port).start()
    # The operator's own token wins; the welcome text names the one in force.
    admin_token = os.environ.get("BRIDGE_ADMIN_TOKEN") or SANDBOX_ADMIN_TOKEN
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BRIDGE_CONFIG": str(args.config),
        "IVVY_BASE_URL": ivvy.url,
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "BRIDGE_SANDBOX_TOKEN": SANDBOX_TOKEN,
        "BRIDGE_ADMIN_TOKEN": admin_token,
        "PROMETHEUS_MULTIPROC_DIR": str((args.data_dir / "sandbox-metrics").resolve()),
    }
    bridge = [sys.executable, "-m", "bridge.cli"]
    serve = [*bridge, "serve", "--host", "127.0.0.1", "--port", str(args.port), "--workers", "2"]
    children = [
        subprocess.Popen(serve, env=env),
        subprocess.Popen([*bridge, "worker", "--concurrency", "4"], env=env),
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    web_url = f"http://127.0.0.1:{args.port}"
    try:
        if not _wait_up(web_url + "/healthz", children, stop):
            print("the bridge did not start; see the messages above", file=sys.stderr)
            return 1
        _print_welcome(web_url, ivvy.url, admin_token)
        while not stop.is_set() and all(child.poll() is None for child in children):
            stop.wait(0.5)
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
    return 0


def _wait_up(url: str, children: list[subprocess.Popen[bytes]], stop: threading.Event) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children):
            return False
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def _print_welcome(web_url: str, ivvy_url: str, admin_token: str) -> None:
    print(
        f"""
  The bridge is running against the sandbox iVvy.

    bridge (webhooks, status pages)  {web_url}/        admin token: {admin_token}
    sandbox iVvy (what it holds)     {ivvy_url}/_sandbox/
    tasks created so far (JSON)      {ivvy_url}/_sandbox/tasks

  Send the example enquiry, then look at the tasks:

    curl -sS -X POST {web_url}/hooks/website -H 'X-Bridge-Token: {SANDBOX_TOKEN}' \\
         -H 'Content-Type: application/json' --data @examples/payloads/website-enquiry.json
    curl -sS {ivvy_url}/_sandbox/tasks

  Ctrl-C stops everything.
""",
        flush=True,
    )
