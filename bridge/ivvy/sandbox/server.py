"""Serving the sandbox iVvy over real HTTP: in a background thread (tests) or blocking (CLI)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bridge.ivvy.sandbox.app import SANDBOX_KEY, SANDBOX_SECRET, Clock, create_sandbox_app
from bridge.ivvy.sandbox.state import SandboxState

__all__ = ["SANDBOX_KEY", "SANDBOX_SECRET", "SandboxServer", "serve_forever"]


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class SandboxServer:
    """The sandbox app on 127.0.0.1 in a daemon thread; use as a context manager.

    ``port=0`` picks a free port; ``url`` is e.g. ``http://127.0.0.1:54321``.
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
    ) -> None:
        self.state = SandboxState.from_seed() if state is None else state
        self.app = create_sandbox_app(
            self.state, credentials=credentials, clock=clock, primary_keys=primary_keys
        )
        self._host = host
        self._port = port
        self._handler = QuietRequestHandler if quiet else WSGIRequestHandler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> SandboxServer:
        """Bind the port and start serving in a daemon thread."""
        if self._server is not None:
            return self
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=self._handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-ivvy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread."""
        if self._server is None:
            return
        self._server.shutdown()
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
    **options: Any,
) -> None:
    """Serve the sandbox in this process until interrupted (for ``bridge sandbox``).

    ``seed_path`` is a JSON seed file; None uses the packaged seed. ``on_ready`` receives the
    base URL once the port is bound (useful with ``port=0``). Ctrl-C returns normally. Extra
    ``options`` go to ``create_sandbox_app`` (e.g. ``clock``).
    """
    state = SandboxState.from_seed(seed_path)
    app = create_sandbox_app(state, credentials=credentials, **options)
    handler = QuietRequestHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    if on_ready is not None:
        on_ready(f"http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
