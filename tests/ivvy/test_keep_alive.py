"""One client per worker thread keeps its connection to iVvy between calls, when iVvy allows it.

Shown against a plain HTTP/1.1 server and against the sandbox iVvy, which keeps connections
alive as an HTTPS API normally does (``keep_alive=False`` gives werkzeug's ``Connection:
close`` to every request, as the sandbox answered before, for the drain benchmark's
comparison). The sandbox counts the connections it accepted. A connection the sandbox closes
(a dropped answer, a stop) is not reused: the client's next call opens a new one, and the call
whose answer was dropped is a transport error that may have committed, as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyTransportError
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer

TASK = {"name": "Call Jane", "endDatetime": "2024-05-07 09:00:00", "contactId": 1}


class _KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep the connection unless the client closes it

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.server, _KeepAliveServer)
        self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"ack": "2026-01-01 00:00:00 UTC"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing."""


@pytest.fixture
def keep_alive_server() -> Iterator[_KeepAliveServer]:
    server = _KeepAliveServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_client_keeps_its_connection_between_calls(keep_alive_server: _KeepAliveServer) -> None:
    url = f"http://127.0.0.1:{keep_alive_server.server_address[1]}"
    with IvvyClient("key", "secret", base_url=url) as client:
        for _ in range(5):
            assert client.ping() == {"ack": "2026-01-01 00:00:00 UTC"}
    assert keep_alive_server.connections == 1
    with IvvyClient("key", "secret", base_url=url) as other:  # another thread's client
        other.ping()
    assert keep_alive_server.connections == 2


def test_the_sandbox_keeps_one_connection_for_a_clients_calls() -> None:
    with SandboxServer() as sandbox:
        with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox.url) as client:
            client.ping()
            task_id = client.add_or_update_task(TASK)
            assert [t["id"] for t in client.get_task_list({"contactId": 1})] == [task_id]
            client.ping()
        assert sandbox.connections_accepted == 1
        with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox.url) as other:
            other.ping()
            other.ping()
        assert sandbox.connections_accepted == 2


def test_the_sandbox_can_still_close_every_connection() -> None:
    with SandboxServer(keep_alive=False) as sandbox:
        with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox.url) as client:
            for _ in range(3):
                client.ping()
        assert sandbox.connections_accepted == 3


def test_after_a_dropped_answer_the_client_calls_on_a_new_connection() -> None:
    with SandboxServer() as sandbox:
        with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=sandbox.url) as client:
            client.ping()
            sandbox.app.extensions["ivvy_sandbox"].faults.configure({"drop_next": 1})
            with pytest.raises(IvvyTransportError) as caught:
                client.add_or_update_task(TASK)
            assert caught.value.maybe_committed is True  # the task was created, unanswered
            client.ping()
            assert len(client.get_task_list({"contactId": 1})) == 1
        assert sandbox.connections_accepted == 2


def test_stop_closes_kept_connections_and_a_client_reconnects_to_a_new_server() -> None:
    first = SandboxServer().start()
    port = int(first.url.rsplit(":", 1)[1])
    with IvvyClient(SANDBOX_KEY, SANDBOX_SECRET, base_url=first.url) as client:
        client.ping()  # its connection stays open, idle, in the pool
        first.stop()  # returns although a kept-alive connection was open
        with SandboxServer(port=port) as second:
            # The pooled connection was closed by the first server: the POST goes on a new one.
            client.ping()
            assert second.connections_accepted == 1
