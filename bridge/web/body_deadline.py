"""A deadline on reading a request body, so that a slow sender cannot hold a thread for long.

A socket timeout does not bound a body that trickles in (one byte a second never
leaves a read idle long enough), and gunicorn's reader loops over many ``recv()``
calls inside one ``read()``.  So one watchdog thread per process keeps the
deadlines of the bodies being read; when one passes, it shuts the socket's
reading side.  The blocked ``recv()`` returns at once with nothing, the body
comes up short, and the watch's ``expired`` flag tells the web layer to answer
408 (the writing side stays open for that answer).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class _Watch:
    """One body being read: its socket and whether the deadline cut it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.expired = False
        self.done = False
        self.lock = threading.Lock()

    def expire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            with contextlib.suppress(OSError):  # the client may be gone already
                self.sock.shutdown(socket.SHUT_RD)

    def finish(self) -> None:
        with self.lock:
            self.done = True


class BodyDeadlines:
    """The watchdog: a heap of deadlines and one daemon thread that enforces them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._pid: int | None = None

    @contextmanager
    def watch(self, sock: socket.socket, seconds: float) -> Iterator[_Watch]:
        """Cut the socket's reading side if the block is still reading after ``seconds``."""
        entry = _Watch(sock, time.monotonic() + seconds)
        with self._cond:
            self._ensure_thread()
            heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
            self._cond.notify()
        try:
            yield entry
        finally:
            entry.finish()

    def _ensure_thread(self) -> None:
        # A thread does not survive a fork: start one in each process that reads bodies.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._heap.clear()
            threading.Thread(target=self._run, name="body-deadlines", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, entry = self._heap[0]
                if entry.done:
                    heapq.heappop(self._heap)
                    continue
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            entry.expire()


DEADLINES = BodyDeadlines()
