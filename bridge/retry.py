"""When to try a job again: exponential backoff with full jitter, Retry-After, limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# The jitter window is never narrower than this many base delays: when iVvy fails
# for many jobs at once, their first retries spread over 20 s (by default) instead
# of all landing in the same two seconds.
SPREAD_FLOOR_BASES = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """A pure schedule: the wait after attempt n is uniform in [0, window(n)].

    ``window(n) = max(min(cap, base * 2**(n-1)), 10 * base)``: exponential growth
    with full jitter, and a floor that keeps early retries of a burst apart.
    """

    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=24)
    base_seconds: float = 2.0
    cap_seconds: float = 600.0

    def ceiling(self, attempts_made: int) -> float:
        """The exponential part of the wait after ``attempts_made`` failed attempts, in seconds."""
        exponent = max(0, attempts_made - 1)
        return min(self.cap_seconds, self.base_seconds * (2.0**exponent))

    def window(self, attempts_made: int) -> float:
        """The longest wait after ``attempts_made`` failed attempts (the jitter bound)."""
        floor = min(self.cap_seconds, self.base_seconds * SPREAD_FLOOR_BASES)
        return max(self.ceiling(attempts_made), floor)

    def next_run(
        self,
        *,
        attempts_made: int,
        now: datetime,
        created_at: datetime,
        retry_after: float | None = None,
        rand: Callable[[], float],
    ) -> datetime | None:
        """When to run again after a transient failure, or None when the job should die.

        ``attempts_made`` counts the attempt that just failed.  A server's
        Retry-After is a floor: no attempt is made before it.  A job dies when
        it has used ``max_attempts`` or when its next run would fall after
        ``max_age`` from its creation.
        """
        if attempts_made >= self.max_attempts:
            return None
        delay = rand() * self.window(attempts_made)
        if retry_after is not None:
            delay = max(delay, retry_after)
        run_at = now + timedelta(seconds=delay)
        if run_at - created_at > self.max_age:
            return None
        return run_at
