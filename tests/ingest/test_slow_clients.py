"""Senders that trickle a body in cannot stall the bridge: real sockets against real gunicorn.

Each slow client sends its headers with ``Content-Length: 100000`` and then one
byte a second.  Meanwhile ``/healthz`` and a real sender must be answered; a
body still arriving at the deadline is answered 408 and nothing is stored.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.ingest.running_bridge import RunningBridge, StartBridge
from tests.support.configs import TOKEN
from tests.support.processes import wait_for

# A bound on each request, not a measurement: before the fix every one of them
# waited for the slow bodies (100,000 s at a byte a second) and timed out.
ANSWER_TIMEOUT = 5.0


class SlowClient:
    """One connection that sends its headers, then a byte of body a second."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        self.sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            ).encode()
        )
        self.sent = 1
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.sock.sendall(b" ")
            except OSError:
                return  # the bridge cut it
            self.sent += 1

    def answer(self) -> bytes:
        """What the bridge answered (blocks until it answers or closes)."""
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            received += chunk
        return received

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@contextmanager
def slow_clients(bridge: RunningBridge, count: int) -> Iterator[list[SlowClient]]:
    clients = [SlowClient(bridge.url, "/hooks/website") for _ in range(count)]
    try:
        # Every one of them is in the middle of its body before the test goes on.
        wait_for(lambda: all(c.sent >= 2 for c in clients), timeout=30)
        yield clients
    finally:
        for client in clients:
            client.close()


def enquiry() -> dict[str, str]:
    return {"id": "slow-" + uuid.uuid4().hex, "email": "quick@example.org", "first_name": "Q"}


def test_slow_senders_leave_health_and_other_senders_answered(
    start_bridge: StartBridge,
) -> None:
    # Six times as many slow connections as web processes.
    bridge = start_bridge(workers=2, BRIDGE_BODY_READ_SECONDS="60")
    with slow_clients(bridge, 12):
        for _ in range(3):
            health = requests.get(f"{bridge.url}/healthz", timeout=ANSWER_TIMEOUT)
            assert health.status_code == 200
            accepted = requests.post(
                bridge.hook("website"),
                json=enquiry(),
                headers={"X-Bridge-Token": TOKEN},
                timeout=ANSWER_TIMEOUT,
            )
            assert accepted.status_code == 202, accepted.text
            assert bridge.jobs_of(accepted.json()["event"]) == 1


def test_a_body_still_arriving_at_the_deadline_is_a_408_and_nothing_is_stored(
    start_bridge: StartBridge,
) -> None:
    # More slow clients than threads: each is cut at the deadline, none stays stuck.
    bridge = start_bridge(workers=1, WEB_THREADS="2", BRIDGE_BODY_READ_SECONDS="2")
    with bridge.stores_nothing(), slow_clients(bridge, 4) as clients:
        answers = [client.answer() for client in clients]
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer
    assert requests.get(f"{bridge.url}/healthz", timeout=ANSWER_TIMEOUT).status_code == 200


def test_web_worker_class_sync_runs_sync_workers(
    start_sqlite_bridge: StartBridge, tmp_path: Path
) -> None:
    # gunicorn swaps a sync worker with more than one thread for gthread without a word,
    # so the documented WEB_WORKER_CLASS=sync did nothing until it came with one thread.
    start_sqlite_bridge(workers=1, WEB_WORKER_CLASS="sync")
    start_sqlite_bridge(workers=1)
    sync_log = (tmp_path / "bridge-0" / "web.log").read_text()
    default_log = (tmp_path / "bridge-1" / "web.log").read_text()
    assert "Using worker: sync" in sync_log, sync_log
    assert "Using worker: gthread" in default_log, default_log
