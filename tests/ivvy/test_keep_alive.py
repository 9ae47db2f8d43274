"""One client per worker thread keeps its connection to iVvy between calls, when iVvy allows it.

The sandbox's werkzeug server answers ``Connection: close`` to every request, so the drain
benchmarks open a connection per call; a server that keeps connections alive shows the
client does not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bridge.ivvy.client import IvvyClient


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
