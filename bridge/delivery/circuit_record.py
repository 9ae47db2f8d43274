"""Keeps the worker's circuit-breaker periods in the database, for the status pages' history."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bridge.store.circuit_log import close_open_periods, record_closed, record_opened

log = logging.getLogger(__name__)


class CircuitRecorder:
    """A breaker's ``on_change``: a row when it opens, its end when it closes.

    Recording is best effort: a database that cannot be written costs a gap in
    the picture, never a delivery.
    """

    def __init__(self, engine: Callable[[], Engine], worker_id: str) -> None:
        self._engine = engine
        self.worker_id = worker_id
        self._period: int | None = None

    def __call__(self, opened: bool, at: datetime) -> None:
        try:
            if opened:
                self._period = record_opened(self._engine(), self.worker_id, at)
                log.warning("iVvy circuit open", extra={"worker": self.worker_id})
            elif self._period is not None:
                record_closed(self._engine(), self._period, at)
                self._period = None
                log.info("iVvy circuit closed", extra={"worker": self.worker_id})
        except SQLAlchemyError as exc:
            log.warning("could not record the circuit", extra={"error": type(exc).__name__})

    def stop(self, at: datetime) -> None:
        """The worker stops: an open period ends here."""
        try:
            close_open_periods(self._engine(), self.worker_id, at)
        except SQLAlchemyError as exc:
            log.warning("could not record the circuit", extra={"error": type(exc).__name__})
