"""Webhook senders as real ones behave: each delivery is retried until it is acknowledged."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench import signed


@dataclass
class Delivery:
    """One signed delivery: every status it got, and the event id of its acknowledgement."""

    external_id: str
    statuses: list[int] = field(default_factory=list)
    acked_event: str | None = None
    duplicate_ack: bool = False
    acked_at: float | None = None  # time.monotonic() of the acknowledgement


class Senders:
    """``threads`` senders posting distinct signed Typeform deliveries to one URL.

    A delivery that gets no answer (0) or a 5xx is sent again, unchanged, after ``pause``
    seconds, as senders do, until a 2xx or until the senders are stopped. ``limit`` caps how
    many distinct deliveries are sent; ``interval`` paces each sender between deliveries.
    """

    def __init__(
        self,
        url: str,
        tag: str,
        *,
        threads: int = 16,
        limit: int | None = None,
        pause: float = 0.05,
        interval: float = 0.0,
        timeout: float = 30.0,
    ) -> None:
        self.target = urlsplit(url)
        self.tag = tag
        self.limit = limit
        self.pause = pause
        self.interval = interval
        self.timeout = timeout
        self.deliveries: dict[str, Delivery] = {}
        self.statuses: Counter[int] = Counter()
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._no_new = threading.Event()
        self._threads = [
            threading.Thread(target=self._send_loop, name=f"sender-{n}", daemon=True)
            for n in range(threads)
        ]

    def start(self) -> Senders:
        """Start every sender thread."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop sending (a delivery being retried is abandoned) and wait for the threads."""
        self._stop.set()
        self.join()

    def finish(self, timeout: float = 60.0) -> None:
        """Send no new deliveries; keep retrying the ones in flight until acked or ``timeout``."""
        self._no_new.set()
        self.join(timeout)
        self.stop()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the senders (they end by themselves once ``limit`` deliveries are acked)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def acked(self) -> list[Delivery]:
        """The deliveries that received a 2xx."""
        with self._lock:
            return [d for d in self.deliveries.values() if d.acked_event is not None]

    def _post(self, body: bytes) -> tuple[int, dict[str, object] | None]:
        conn = http.client.HTTPConnection(
            self.target.hostname or "127.0.0.1", self.target.port, timeout=self.timeout
        )
        try:
            conn.request("POST", self.target.path, body=body, headers=signed.headers(body))
            response = conn.getresponse()
            raw = response.read()
            try:
                answer = json.loads(raw) if raw else None
            except ValueError:
                answer = None
            return response.status, answer if isinstance(answer, dict) else None
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()

    def _send_loop(self) -> None:
        while not self._stop.is_set() and not self._no_new.is_set():
            number = next(self._numbers)
            if self.limit is not None and number >= self.limit:
                return
            body = signed.body_for(self.tag, number)
            delivery = Delivery(signed.event_id_of(body))
            with self._lock:
                self.deliveries[delivery.external_id] = delivery
            while not self._stop.is_set():
                status, answer = self._post(body)
                with self._lock:
                    delivery.statuses.append(status)
                    self.statuses[status] += 1
                if 200 <= status < 300:
                    delivery.acked_event = str((answer or {}).get("event"))
                    delivery.duplicate_ack = bool((answer or {}).get("duplicate"))
                    delivery.acked_at = time.monotonic()
                    break
                time.sleep(self.pause)
            if self.interval:
                self._stop.wait(self.interval)
