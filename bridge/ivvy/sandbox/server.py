"""Serving the sandbox iVvy over real HTTP: in a background thread (tests) or blocking (CLI).

The sandbox speaks HTTP/1.1 and keeps each connection open between calls, as an HTTPS API
such as iVvy's normally does, so a client that keeps its connection (the bridge's, one
``requests.Session`` per worker thread) pays for one connection, not one per call. werkzeug's
own handler answers ``Connection: close`` to every request (it cannot find the next request
line after a body the app left unread); ``KeepAliveRequestHandler`` reads each request's body
whole before the app runs and answers with the whole response and its ``Content-Length``, so
the connection is at the next request's first byte after every answer. ``keep_alive=False``
keeps werkzeug's closing handler (the benchmarks compare the two).
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from bridge.ivvy.sandbox.app import SANDBOX_KEY, SANDBOX_SECRET, Clock, create_sandbox_app
from bridge.ivvy.sandbox.state import SandboxState

__all__ = ["SANDBOX_KEY", "SANDBOX_SECRET", "SandboxServer", "serve_forever"]

# Request bodies larger than this are refused (413) and the connection closed; iVvy's calls
# are small JSON objects.
MAX_REQUEST_BODY = 16 * 1024 * 1024
# Bodiless answers: no Content-Length, nothing written (RFC 9110 §8.6).
_NO_BODY_STATUSES = frozenset({204, 304})
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without the per-request access log line (answers Connection: close)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections: body read whole, answer sent with its length."""

    protocol_version = "HTTP/1.1"
    # Headers and body are two writes; without this, Nagle holds the second one back until
    # the client acknowledges the first (up to its delayed-ACK timer, ~40 ms on Linux).
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        """Read the request body, run the app, send its whole answer; keep or close."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        try:
            body = _read_body(environ)
        except _BodyRefused as refused:
            self.close_connection = True
            self.send_error(refused.status, refused.reason)
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        status, headers, content = self._run_app(environ)
        try:
            self._answer(status, headers, content)
        except OSError:
            # The app closed the connection (the "drop" fault), or the client went away.
            self.close_connection = True

    def _run_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [(status, headers)]
            return chunks.append

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            self.close_connection = True
            message = b"Internal Server Error"
            return "500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")], message
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status, headers = started[0]
        return status, headers, b"".join(chunks)

    def _answer(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        declared: str | None = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                declared = value
            if lowered == "connection" and value.strip().lower() == "close":
                self.close_connection = True
            if lowered not in _FRAMING_HEADERS:
                self.send_header(name, value)
        bodiless = code in _NO_BODY_STATUSES or 100 <= code < 200
        if not bodiless:
            # HEAD: the length the GET would have (the app's header), and no body.
            head = self.command == "HEAD"
            length = declared if head and declared is not None else str(len(content))
            self.send_header("Content-Length", length)
            if head:
                content = b""
        else:
            content = b""
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if content:
            self.wfile.write(content)


class QuietKeepAliveRequestHandler(KeepAliveRequestHandler):
    """The keep-alive handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class _BodyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body, so the connection is left at the next request's first byte."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's DechunkedInput
        parts: list[bytes] = []
        size = 0
        try:
            while size <= MAX_REQUEST_BODY:
                part = stream.read(65536)
                if not part:
                    break
                parts.append(part)
                size += len(part)
        except (OSError, ValueError):
            raise _BodyRefused(400, "Malformed chunked body") from None
        body = b"".join(parts)
    else:
        text = (environ.get("CONTENT_LENGTH") or "0").strip()
        if not text.isascii() or not text.isdigit():
            raise _BodyRefused(400, "Bad Content-Length")
        length = int(text)
        if length > MAX_REQUEST_BODY:
            raise _BodyRefused(413, "Request body too large")
        body = stream.read(length) if length else b""
        if len(body) < length:
            raise _BodyRefused(400, "Request body cut short")
    if len(body) > MAX_REQUEST_BODY:
        raise _BodyRefused(413, "Request body too large")
    return bytes(body)


class _TrackingServer(ThreadedWSGIServer):
    """werkzeug's threaded server that knows its open connections, to close them on stop.

    A kept-alive connection holds a (daemon) thread waiting for the next request line; closing
    the listening socket does not wake it, so ``close_connections`` shuts each one down.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.connections_accepted = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
            self.connections_accepted += 1
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        """Shut down every open connection (idle kept-alive ones included)."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)


def _handler(*, quiet: bool, keep_alive: bool) -> type[WSGIRequestHandler]:
    if keep_alive:
        return QuietKeepAliveRequestHandler if quiet else KeepAliveRequestHandler
    return QuietRequestHandler if quiet else WSGIRequestHandler


def make_sandbox_server(
    host: str, port: int, app: Any, *, quiet: bool, keep_alive: bool = True
) -> _TrackingServer:
    """The threaded server for ``app`` on ``host:port`` (0: a free port), bound and listening."""
    return _TrackingServer(host, port, app, _handler(quiet=quiet, keep_alive=keep_alive))


class SandboxServer:
    """The sandbox app on 127.0.0.1 in a daemon thread; use as a context manager.

    ``port=0`` picks a free port; ``url`` is e.g. ``http://127.0.0.1:54321``.
    ``keep_alive=False`` answers ``Connection: close`` to every request (werkzeug's own
    handler), as the sandbox did before it kept connections.
    """

    def __init__(
        self,
        state: SandboxState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: dict[str, str] | None = None,
        clock: Clock | None = None,
        quiet: bool = True,
        primary_keys: frozenset[str] | None = None,
        keep_alive: bool = True,
    ) -> None:
        self.state = SandboxState.from_seed() if state is None else state
        self.app = create_sandbox_app(
            self.state, credentials=credentials, clock=clock, primary_keys=primary_keys
        )
        self._host = host
        self._port = port
        self._quiet = quiet
        self._keep_alive = keep_alive
        self._server: _TrackingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted since it started."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return self._server.connections_accepted

    def start(self) -> SandboxServer:
        """Bind the port and start serving in a daemon thread."""
        if self._server is not None:
            return self
        self._server = make_sandbox_server(
            self._host, self._port, self.app, quiet=self._quiet, keep_alive=self._keep_alive
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-ivvy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the socket, and wait for the thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8765,
    credentials: dict[str, str] | None = None,
    seed_path: str | Path | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
    quiet: bool = False,
    keep_alive: bool = True,
    **options: Any,
) -> None:
    """Serve the sandbox in this process until interrupted (for ``bridge sandbox``).

    ``seed_path`` is a JSON seed file; None uses the packaged seed. ``on_ready`` receives the
    base URL once the port is bound (useful with ``port=0``). Ctrl-C returns normally. Extra
    ``options`` go to ``create_sandbox_app`` (e.g. ``clock``).
    """
    state = SandboxState.from_seed(seed_path)
    app = create_sandbox_app(state, credentials=credentials, **options)
    server = make_sandbox_server(host, port, app, quiet=quiet, keep_alive=keep_alive)
    if on_ready is not None:
        on_ready(f"http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
