"""A circuit breaker: while iVvy keeps failing, workers hold back instead of burning attempts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# Told when the circuit opens (True) or closes (False), and when.  Called under the
# breaker's lock, so that an opening and the closing after it are told in that order.
ChangeListener = Callable[[bool, datetime], None]


class CircuitBreaker:
    """Opens after ``failures`` consecutive transient failures; lets one probe through after
    ``cooldown``; closes again when iVvy answers (even with a refusal)."""

    def __init__(
        self,
        *,
        failures: int = 5,
        cooldown_seconds: float = 30.0,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.threshold = failures
        self.on_change = on_change
        self.cooldown = timedelta(seconds=cooldown_seconds)
        self._failures = 0
        self._opened_at: datetime | None = None
        self._probing = False
        self._prober: int | None = None
        self._lock = threading.Lock()

    def allow(self, now: datetime) -> bool:
        """Whether a worker may start a job now (one probe at a time while half-open).

        A caller that was allowed must report back: ``record_success``,
        ``record_failure``, or ``cancel`` when it found no job to run after all.
        """
        with self._lock:
            if self._opened_at is None:
                return True
            if now - self._opened_at < self.cooldown or self._probing:
                return False
            self._probing = True
            self._prober = threading.get_ident()
            return True

    def cancel(self) -> None:
        """The allowed caller ran nothing: if it held the probe slot, free it for the next one."""
        with self._lock:
            if self._probing and self._prober == threading.get_ident():
                self._probing = False

    def record_success(self, now: datetime | None = None) -> None:
        """iVvy answered: close the circuit."""
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._probing = False
            if was_open and self.on_change is not None:
                self.on_change(False, now or datetime.now(UTC))

    def record_failure(self, now: datetime) -> None:
        """A transient failure: count it, and open (or re-open) the circuit at the threshold."""
        with self._lock:
            was_open = self._opened_at is not None
            self._failures += 1
            if self._probing or self._failures >= self.threshold:
                self._opened_at = now
            self._probing = False
            if not was_open and self._opened_at is not None and self.on_change is not None:
                self.on_change(True, now)

    @property
    def is_open(self) -> bool:
        """True while the circuit holds workers back."""
        return self._opened_at is not None
