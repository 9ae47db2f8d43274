"""The circuit breaker, with the time passed in."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bridge.circuit import CircuitBreaker

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_it_opens_after_n_consecutive_failures_and_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=3, cooldown_seconds=30)
    breaker.record_failure(at(0))
    breaker.record_failure(at(1))
    breaker.record_success()
    breaker.record_failure(at(2))
    breaker.record_failure(at(3))
    assert breaker.allow(at(3)) and not breaker.is_open
    breaker.record_failure(at(4))
    assert breaker.is_open
    assert not breaker.allow(at(4))
    assert not breaker.allow(at(33.9))


def test_after_the_cooldown_one_probe_goes_through_and_its_success_closes() -> None:
    breaker = CircuitBreaker(failures=1, cooldown_seconds=30)
    breaker.record_failure(at(0))
    assert breaker.allow(at(30))  # the probe
    assert not breaker.allow(at(31))  # one at a time
    breaker.record_success()
    assert not breaker.is_open
    assert breaker.allow(at(31)) and breaker.allow(at(31))


def test_a_failed_probe_reopens_for_another_cooldown() -> None:
    breaker = CircuitBreaker(failures=5, cooldown_seconds=30)
    for n in range(5):
        breaker.record_failure(at(n))
    assert breaker.allow(at(35))
    breaker.record_failure(at(35))  # one failure is enough while probing
    assert not breaker.allow(at(64))
    assert breaker.allow(at(65))


def test_a_probe_that_found_no_job_frees_the_slot() -> None:
    breaker = CircuitBreaker(failures=1, cooldown_seconds=30)
    breaker.record_failure(at(0))
    assert breaker.allow(at(30))
    breaker.cancel()
    assert breaker.allow(at(30))  # not stuck open forever


def test_only_the_probing_thread_can_cancel_the_probe() -> None:
    breaker = CircuitBreaker(failures=1, cooldown_seconds=30)
    breaker.record_failure(at(0))
    assert breaker.allow(at(30))
    other = threading.Thread(target=breaker.cancel)
    other.start()
    other.join()
    assert not breaker.allow(at(30))


def test_it_tells_each_opening_and_closing_once_in_order() -> None:
    told: list[tuple[bool, datetime]] = []
    breaker = CircuitBreaker(
        failures=2, cooldown_seconds=30, on_change=lambda opened, when: told.append((opened, when))
    )
    breaker.record_failure(at(0))
    breaker.record_success(at(1))  # closed all along: nothing to tell
    breaker.record_failure(at(2))
    breaker.record_failure(at(3))  # opens
    assert breaker.allow(at(33))
    breaker.record_failure(at(33))  # the probe failed: still open, not told again
    assert breaker.allow(at(63))
    breaker.record_success(at(64))  # closes
    breaker.record_success(at(65))
    assert told == [(True, at(3)), (False, at(64))]
