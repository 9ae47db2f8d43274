"""Bad input through the real processes: gunicorn, a worker, the sandbox iVvy (issue 13).

The in-process tests (test_bad_input.py, test_bad_input_properties.py) cover each class of
input; this one checks that gunicorn in front changes none of the answers, on both databases.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml
from sqlalchemy import select

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from bridge.store.states import EventState
from bridge.store.tables import events
from tests.support.configs import TOKEN
from tests.support.processes import BridgeProcess, start_web, wait_for

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
DEEP = b"[" * 100_000 + b"]" * 100_000


def raw_request(url: str, request: bytes) -> bytes:
    """Send bytes as they are (requests refuses a NUL in a header) and read the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def test_bad_input_through_gunicorn_and_a_worker(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    web, url = start_web(bridge_env, tmp_path / "web.log")
    worker = BridgeProcess(["worker"], bridge_env, tmp_path / "worker.log")
    engine = build_engine(bridge_env["DATABASE_URL"])
    hook = f"{url}/hooks/website"
    form = {"Content-Type": "application/json", "X-Bridge-Token": TOKEN}
    try:
        # Case 1: too deep is a 400, and the authentic body is kept as an invalid event.
        deep = requests.post(hook, data=DEEP, headers=form, timeout=30)
        assert deep.status_code == 400, deep.text
        assert "nested more than" in deep.json()["error"]["message"]

        # Cases 2 and 3: a lone surrogate and NULs are stored as U+FFFD and carried to iVvy.
        body = json.dumps(
            {
                "id": "served\u00001",
                "kind": "enquiry\u0000",
                "email": "sam@example.org",
                "first_name": "Sam \ud83d",
                "last_name": "Lee\u0000",
                "message": "half an emoji: \ud83d",
            }
        ).encode()
        accepted = requests.post(hook, data=body, headers=form, timeout=30)
        assert accepted.status_code == 202, accepted.text
        event_id = accepted.json()["event"]
        tasks = wait_for(lambda: requests.get(f"{sandbox.url}/_sandbox/tasks", timeout=5).json())
        assert tasks[0]["name"] == "Call Sam \ufffd about their enquiry"

        with engine.connect() as conn:
            rows = {
                row.id: row
                for row in conn.execute(select(events.c.id, events.c.state, events.c.body))
            }
        assert rows[deep.json()["error"]["event"]].state == EventState.INVALID
        assert bytes(rows[event_id].body) == body
        admin = {"Authorization": f"Bearer {bridge_env['BRIDGE_ADMIN_TOKEN']}"}
        listed = requests.get(f"{url}/api/events?source=web%00site", headers=admin, timeout=10)
        assert listed.status_code == 400, listed.text

        # A NUL in a header never reaches the app: gunicorn refuses the request itself.
        answer = raw_request(
            url,
            b"POST /hooks/website HTTP/1.1\r\nHost: bridge\r\nContent-Length: 2\r\n"
            b"Content-Type: application/json\r\nX-Bridge-Token: " + TOKEN.encode() + b"\x00\r\n"
            b"\r\n{}",
        )
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]

        # A request line over 4094 bytes: gunicorn's 414, as openapi.yaml's UriTooLong says.
        described = yaml.safe_load(SPEC.read_text())["components"]["responses"]["UriTooLong"]
        too_long = requests.get(f"{url}/api/events?q={'a' * 4096}", headers=admin, timeout=10)
        assert too_long.status_code == 414, too_long.text[:200]
        assert too_long.headers["Content-Type"] in described["content"]
    finally:
        engine.dispose()
        worker.stop()
        web.stop()
