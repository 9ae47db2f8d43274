"""Fault knobs for the sandbox's API calls: failures, latency, and dropped answers.

Set through ``POST /_sandbox/faults`` (keys merge into the current settings) and cleared by
``DELETE /_sandbox/faults``. They never apply to the /_sandbox endpoints themselves.

* ``fail_next`` N: the next N API calls answer ``status`` (default 503) in iVvy's error shape,
  with ``specific_code`` and a ``Retry-After: retry_after`` header when given; nothing is written.
* ``latency_ms``: every API call waits this long before it is handled.
* ``drop_next`` N / ``drop_rate`` p (with ``seed`` for a repeatable sequence): the call is handled
  (a write is committed) and then the connection is closed without any HTTP answer.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bridge.ivvy.sandbox.body_fields import coerce_int


@dataclass
class FaultSettings:
    """The current knobs; all off by default."""

    fail_next: int = 0
    status: int = 503
    specific_code: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    drop_next: int = 0
    drop_rate: float = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class Failure:
    """One injected failure answer."""

    status: int
    specific_code: int | None
    retry_after: float | None


class Faults:
    """Thread-safe fault settings and the counters they consume."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random()

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge validated settings in and return them all; ValueError names a bad key."""
        checked = _checked(changes)
        with self._lock:
            for name, value in checked.items():
                setattr(self._settings, name, value)
            if "seed" in checked or "drop_rate" in checked:
                self._random = random.Random(self._settings.seed)
            return self._describe()

    def clear(self) -> dict[str, Any]:
        """Every knob back to off."""
        with self._lock:
            self._settings = FaultSettings()
            self._random = random.Random()
            return self._describe()

    def describe(self) -> dict[str, Any]:
        """The current settings as JSON."""
        with self._lock:
            return self._describe()

    def _describe(self) -> dict[str, Any]:
        return asdict(self._settings)

    def latency_seconds(self) -> float:
        """How long each API call waits first."""
        with self._lock:
            return self._settings.latency_ms / 1000

    def take_failure(self) -> Failure | None:
        """The failure to answer with, consuming one of ``fail_next``; None when none is due."""
        with self._lock:
            settings = self._settings
            if settings.fail_next <= 0:
                return None
            settings.fail_next -= 1
            return Failure(settings.status, settings.specific_code, settings.retry_after)

    def take_drop(self) -> bool:
        """Whether to drop this answer: consumes one of ``drop_next``, else rolls ``drop_rate``."""
        with self._lock:
            settings = self._settings
            if settings.drop_next > 0:
                settings.drop_next -= 1
                return True
            return settings.drop_rate > 0 and self._random.random() < settings.drop_rate


def _checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(changes, Mapping):
        raise ValueError("fault settings must be a JSON object")
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("fail_next", "latency_ms", "drop_next"):
            checked[name] = _whole(name, value, minimum=0)
        elif name == "status":
            checked[name] = _whole(name, value, minimum=400)
            if checked[name] > 599:
                raise ValueError("status must be between 400 and 599")
        elif name in ("specific_code", "seed"):
            checked[name] = None if value is None else _whole(name, value, minimum=0)
        elif name == "retry_after":
            checked[name] = None if value is None else _number(name, value, 0, float("inf"))
        elif name == "drop_rate":
            checked[name] = _number(name, value, 0, 1)
        else:
            raise ValueError(f"unknown fault setting {name!r}")
    return checked


def _whole(name: str, value: Any, *, minimum: int) -> int:
    number = coerce_int(value)
    if number is None or number < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}")
    return number


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low} to {high}")
    return float(value)
