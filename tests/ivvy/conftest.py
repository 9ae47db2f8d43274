"""Real HTTP servers on 127.0.0.1 for the iVvy client tests: raw answers, hangs, hang-ups."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

Responder = Callable[[Request], Response]


@dataclass(frozen=True)
class SeenRequest:
    """What the server received: method, raw request-target, headers and body bytes."""

    method: str
    target: str
    headers: Headers  # case-insensitive, as HTTP header names are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RawServer:
    """A werkzeug server whose answers come from a test-supplied function; records every request."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.seen: list[SeenRequest] = []
        self.release = threading.Event()  # set at teardown so hanging handlers finish
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            SeenRequest(
                method=request.method,
                target=environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path,
                headers=Headers(request.headers),
                body=request.get_data(),
            )
        )
        return self.respond(request)(environ, start_response)

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Responder], RawServer]]:
    """Factory: ``raw_server(respond)`` starts a server answering with ``respond(request)``."""
    servers: list[RawServer] = []

    def serve(respond: Responder) -> RawServer:
        server = RawServer(respond).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


class DroppingServer:
    """Accepts a connection, reads the request, then closes the socket without answering."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                if conn.recv(65536):
                    self.received += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def dropping_server() -> Iterator[DroppingServer]:
    """A server that hangs up right after reading the request."""
    server = DroppingServer()
    yield server
    server.stop()


@pytest.fixture
def refused_url() -> str:
    """A 127.0.0.1 URL where nothing listens (the port was bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
