"""Wrong admin tokens are throttled per client: 429 with ``Retry-After`` after too many.

Each client has a bucket of ``BURST`` failures that refills one every
``REFILL_SECONDS``.  A wrong token (bearer, Basic or the login form) takes one;
with none left the client gets 429 for every admin request, the right token
included (otherwise a throttled guesser would still learn when it was right),
until the next refill.  Buckets live in each web process, so a guesser gets at
most workers x BURST tries at once, then one per refill per process: far too
few for any token the bridge would accept.

The client is the connection's address, or, when that address is a proxy
gunicorn trusts (``FORWARDED_ALLOW_IPS``), the address that proxy appended last
to ``X-Forwarded-For``: the platform router's view of who connected.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Request, current_app

log = logging.getLogger(__name__)

BURST = 10
REFILL_SECONDS = 6.0
MAX_CLIENTS = 10_000


def client_of(req: Request) -> str:
    """Who is asking, as far as the bridge can tell (see the module docstring)."""
    peer = req.remote_addr or "unknown"
    trusted = {ip.strip() for ip in os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1").split(",")}
    forwarded = req.headers.get("X-Forwarded-For", "")
    if forwarded and ("*" in trusted or peer in trusted):
        last = forwarded.split(",")[-1].strip()
        return last[:64] or peer
    return peer


class FailureThrottle:
    """Buckets of allowed failures per client, refilled over time (thread-safe)."""

    def __init__(
        self,
        burst: int = BURST,
        refill_seconds: float = REFILL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, client: str, now: float) -> float:
        tokens, since = self._buckets.get(client, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - since) / self.refill_seconds)

    def retry_after(self, client: str) -> int | None:
        """Seconds until this client may try again, or None when it may try now."""
        with self._lock:
            now = self.clock()
            level = self._level(client, now)
            if level >= 1:
                return None
            return max(1, math.ceil((1 - level) * self.refill_seconds))

    def failed(self, client: str) -> None:
        """Take one failure from the client's bucket."""
        with self._lock:
            now = self.clock()
            level = self._level(client, now)
            self._buckets[client] = (max(0.0, level - 1), now)
            self._buckets.move_to_end(client)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        if level - 1 < 1:
            log.warning("admin token guesses throttled", extra={"client": client})


def admin_guesses() -> FailureThrottle:
    """This app's throttle of wrong admin tokens (one per app, so per web process)."""
    throttle: FailureThrottle = current_app.extensions.setdefault(
        "bridge_admin_guesses", FailureThrottle()
    )
    return throttle
