"""The attempt log: one row per HTTP call a job run made to iVvy (no bodies, no credentials)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bridge.store.queue import ClaimedJob, Write
from bridge.store.tables import attempts

log = logging.getLogger(__name__)

_INSERT = insert(attempts)


class Call(Protocol):
    """One HTTP call as the iVvy client reports it (``bridge.ivvy.client.CallRecord``)."""

    @property
    def namespace(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def started_at(self) -> datetime: ...


def attempt_rows(
    job: ClaimedJob, calls: Sequence[Call], started: datetime, real_started: datetime
) -> list[dict[str, object]]:
    """Rows for the attempts table, timed by the worker's clock (``started`` = run start).

    The client times calls by its own clock; ``real_started`` is that clock at the run's start.
    """
    return [
        {
            "job_id": job.id,
            "event_id": job.event_id,
            "started_at": started + (call.started_at - real_started),
            "call": f"{call.namespace}.{call.action}"[:80],
            "status": call.status,
            "duration_ms": int(call.duration_ms),
            "error": call.error,
        }
        for call in calls
    ]


def attempts_write(rows: list[dict[str, object]]) -> list[Write]:
    """The insert of the rows, for the job's settling transaction (nothing when no calls)."""
    return [(_INSERT, rows)] if rows else []


def save_attempts(engine: Engine, job_id: int, rows: list[dict[str, object]]) -> None:
    """Store attempt rows on their own (when the job's settlement could not carry them)."""
    if not rows:
        return
    try:
        with engine.begin() as conn:
            conn.execute(_INSERT, rows)
    except SQLAlchemyError:
        log.warning("could not record attempts", extra={"job": job_id}, exc_info=True)
