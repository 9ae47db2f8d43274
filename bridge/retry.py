"""When to try a job again: exponential backoff with full jitter, Retry-After, limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """A pure schedule: attempt n waits a random time in [0, min(cap, base * 2**(n-1))]."""

    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=24)
    base_seconds: float = 2.0
    cap_seconds: float = 600.0

    def ceiling(self, attempts_made: int) -> float:
        """The most the wait after ``attempts_made`` failed attempts can be, in seconds."""
        exponent = max(0, attempts_made - 1)
        return min(self.cap_seconds, self.base_seconds * (2.0**exponent))

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
        Retry-After is a floor: no attempt is made before it.
        """
        if attempts_made >= self.max_attempts:
            return None
        delay = rand() * self.ceiling(attempts_made)
        if retry_after is not None:
            delay = max(delay, retry_after)
        run_at = now + timedelta(seconds=delay)
        if run_at - created_at > self.max_age:
            return None
        return run_at
