"""RetryPolicy is pure: the schedule, its bounds, Retry-After, the limits, and the jitter spread."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bridge.retry import RetryPolicy

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT = RetryPolicy()


@pytest.mark.parametrize(
    ("attempts_made", "ceiling", "window"),
    [
        (1, 2.0, 20.0),
        (2, 4.0, 20.0),
        (3, 8.0, 20.0),
        (4, 16.0, 20.0),
        (5, 32.0, 32.0),
        (8, 256.0, 256.0),
        (9, 512.0, 512.0),
        (10, 600.0, 600.0),  # capped
        (40, 600.0, 600.0),
    ],
)
def test_the_wait_grows_exponentially_to_the_cap_with_a_floor(
    attempts_made: int, ceiling: float, window: float
) -> None:
    assert DEFAULT.ceiling(attempts_made) == ceiling
    assert DEFAULT.window(attempts_made) == window


def test_the_floor_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=5)
    assert [policy.window(n) for n in (1, 2, 3, 9)] == [5, 5, 5, 5]


@pytest.mark.parametrize(("rand", "seconds"), [(0.0, 0.0), (0.25, 5.0), (1.0, 20.0)])
def test_the_jitter_spans_the_whole_window(rand: float, seconds: float) -> None:
    run_at = DEFAULT.next_run(attempts_made=1, now=T0, created_at=T0, rand=lambda: rand)
    assert run_at == T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("retry_after", "rand", "seconds"),
    [(120.0, 0.0, 120.0), (120.0, 1.0, 120.0), (3.0, 0.5, 10.0), (0.0, 0.0, 0.0)],
)
def test_retry_after_is_a_floor(retry_after: float, rand: float, seconds: float) -> None:
    run_at = DEFAULT.next_run(
        attempts_made=1, now=T0, created_at=T0, retry_after=retry_after, rand=lambda: rand
    )
    assert run_at == T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(("attempts_made", "alive"), [(1, True), (7, True), (8, False), (9, False)])
def test_a_job_dies_after_max_attempts(attempts_made: int, alive: bool) -> None:
    run_at = DEFAULT.next_run(attempts_made=attempts_made, now=T0, created_at=T0, rand=lambda: 0.5)
    assert (run_at is not None) is alive


@pytest.mark.parametrize(
    ("age", "retry_after", "alive"),
    [
        (timedelta(hours=23, minutes=59), None, True),  # 23:59 + at most 10 s: inside 24 h
        (timedelta(hours=23, minutes=59, seconds=55), None, False),  # + 10 s: past 24 h
        (timedelta(hours=23), 7200.0, False),  # Retry-After pushes it past 24 h
        (timedelta(hours=23), 1800.0, True),
    ],
)
def test_a_job_dies_when_its_next_run_would_pass_max_age(
    age: timedelta, retry_after: float | None, alive: bool
) -> None:
    run_at = DEFAULT.next_run(
        attempts_made=1, now=T0 + age, created_at=T0, retry_after=retry_after, rand=lambda: 0.5
    )
    assert (run_at is not None) is alive


@pytest.mark.parametrize("attempts_made", range(1, 8))
def test_a_thousand_jobs_failing_at_once_spread_their_next_attempts(attempts_made: int) -> None:
    rand = random.Random(attempts_made).random
    delays = [
        (
            DEFAULT.next_run(attempts_made=attempts_made, now=T0, created_at=T0, rand=rand)
            or T0  # never: the schedule is inside the limits
        )
        - T0
        for _ in range(1000)
    ]
    buckets = Counter(int(delay.total_seconds()) for delay in delays)
    assert max(buckets.values()) <= 100  # no one-second slot holds more than 10 %
    assert all(d <= timedelta(seconds=DEFAULT.window(attempts_made)) for d in delays)
