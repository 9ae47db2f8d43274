"""Read-side queries for the admin API and the status pages; every result is JSON-able.

Datetimes come back as ISO 8601 strings in UTC, bodies are never included
(``get_event`` gives the normalised event instead), and each function opens
one short read-only connection on the engine it is given.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from bridge.store.db import reading
from bridge.store.states import ACTIVE_JOB_STATES, EventState, JobState
from bridge.store.tables import attempts, deliveries, events, jobs

EVENT_STATES = tuple(EventState)
MAX_PAGE = 500
_CURSOR_TIME = "%Y%m%dT%H%M%S.%fZ"
# Every string of this shape is a cursor: a position in (received_at, id) order, whether
# or not an event sits there (openapi.yaml states the same pattern).  A day past the end
# of its month (``20260230``) counts on into the next month: it is still a position.
CURSOR_PATTERN = (
    r"^(?P<y>[1-9][0-9]{3})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"T(?P<H>[01][0-9]|2[0-3])(?P<M>[0-5][0-9])(?P<S>[0-5][0-9])\.(?P<us>[0-9]{6})Z"
    r"_(?P<id>[A-Za-z0-9_]{1,64})$"
)
_CURSOR = re.compile(CURSOR_PATTERN)

_SUMMARY_COLUMNS = (
    events.c.id,
    events.c.source,
    events.c.source_type,
    events.c.kind,
    events.c.external_id,
    events.c.email,
    events.c.received_at,
    events.c.updated_at,
    events.c.state,
    events.c.last_error,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _jsonable_row(row: RowMapping) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _cursor_of(row: RowMapping) -> str:
    # URL-safe as it is: no '+' or ':' to escape in a query string.
    return f"{row['received_at'].astimezone(UTC).strftime(_CURSOR_TIME)}_{row['id']}"


def _after_cursor(cursor: str) -> ColumnElement[bool]:
    """Rows older than the cursor in (received_at desc, id desc) order."""
    found = _CURSOR.match(cursor)
    if found is None:
        raise ValueError("cursor is not one this API returned")
    part = {k: int(v) for k, v in found.groupdict().items() if k != "id"}
    at = datetime(
        part["y"], part["m"], 1, part["H"], part["M"], part["S"], part["us"], tzinfo=UTC
    ) + timedelta(days=part["d"] - 1)
    event_id = found.group("id")
    return or_(events.c.received_at < at, and_(events.c.received_at == at, events.c.id < event_id))


def list_events(
    engine: Engine,
    *,
    source: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Events newest first, filtered; ``{"events": [summary...], "next": cursor | None}``.

    ``since`` is inclusive and ``until`` exclusive (aware datetimes).
    ``search`` matches exactly (case-insensitive for emails) an email, an
    external id or an event id.  Pass the returned ``next`` as ``cursor`` for
    the following page.  A summary holds id, source, source_type, kind,
    external_id, email, received_at, updated_at, state and last_error.
    Raises ValueError for a malformed cursor.
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*_SUMMARY_COLUMNS)
    if source:
        query = query.where(events.c.source == source)
    if state:
        query = query.where(events.c.state == state)
    if since is not None:
        query = query.where(events.c.received_at >= since)
    if until is not None:
        query = query.where(events.c.received_at < until)
    if search:
        term = search.strip()
        query = query.where(
            or_(
                events.c.email == term.lower(),
                events.c.external_id == term,
                events.c.id == term,
            )
        )
    if cursor:
        query = query.where(_after_cursor(cursor))
    query = query.order_by(events.c.received_at.desc(), events.c.id.desc()).limit(limit + 1)
    with reading(engine) as conn:
        rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [_jsonable_row(row) for row in rows],
        "next": _cursor_of(rows[-1]) if more and rows else None,
    }


def get_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    """One event with everything known about it, or None.

    Keys: the summary keys of :func:`list_events`, plus ``content_type``,
    ``rules_digest``, ``event`` (the normalised Event as stored: fields,
    answers, data, previous_data; null for invalid deliveries), ``jobs``,
    ``deliveries`` and ``attempts`` (each a list of row dicts, oldest first).
    """
    with reading(engine) as conn:
        row = (
            conn.execute(
                select(
                    *_SUMMARY_COLUMNS,
                    events.c.content_type,
                    events.c.rules_digest,
                    events.c.event,
                ).where(events.c.id == event_id)
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        found = _jsonable_row(row)
        found["jobs"] = [
            _jsonable_row(r)
            for r in conn.execute(
                select(
                    jobs.c.id,
                    jobs.c.state,
                    jobs.c.run_at,
                    jobs.c.created_at,
                    jobs.c.finished_at,
                    jobs.c.attempts,
                    jobs.c.claims,
                    jobs.c.last_error,
                    jobs.c.rules_digest,
                )
                .where(jobs.c.event_id == event_id)
                .order_by(jobs.c.id)
            ).mappings()
        ]
        found["deliveries"] = [
            _jsonable_row(r)
            for r in conn.execute(
                select(deliveries)
                .where(deliveries.c.event_id == event_id)
                .order_by(deliveries.c.id)
            ).mappings()
        ]
        found["attempts"] = [
            _jsonable_row(r)
            for r in conn.execute(
                select(attempts).where(attempts.c.event_id == event_id).order_by(attempts.c.id)
            ).mappings()
        ]
    return found


def _bucket(engine: Engine, unit: Literal["hour", "day"]) -> ColumnElement[Any]:
    if engine.dialect.name == "postgresql":
        pattern = 'YYYY-MM-DD"T"HH24:00:00' if unit == "hour" else 'YYYY-MM-DD"T"00:00:00'
        return func.to_char(
            func.timezone("UTC", events.c.received_at), literal_column(f"'{pattern}'")
        )
    # SQLite keeps UTC datetimes as naive 'YYYY-MM-DD HH:MM:SS[.ffffff]' text.
    pattern = "%Y-%m-%dT%H:00:00" if unit == "hour" else "%Y-%m-%dT00:00:00"
    return func.strftime(pattern, events.c.received_at)


def counts_by_source(
    engine: Engine,
    *,
    since: datetime,
    until: datetime,
    unit: Literal["hour", "day"] = "hour",
) -> list[dict[str, Any]]:
    """Events received per source per hour (or day) in ``[since, until)``.

    Items ``{"source", "bucket": "YYYY-MM-DDTHH:00:00+00:00", "count"}``, ordered
    by bucket then source; empty buckets are left out.
    """
    if unit not in ("hour", "day"):
        raise ValueError("unit must be 'hour' or 'day'")
    bucket = _bucket(engine, unit).label("bucket")
    query = (
        select(events.c.source, bucket, func.count().label("count"))
        .where(events.c.received_at >= since, events.c.received_at < until)
        .group_by(events.c.source, bucket)
        .order_by(bucket, events.c.source)
    )
    with reading(engine) as conn:
        return [
            {"source": r.source, "bucket": f"{r.bucket}+00:00", "count": int(r[2])}
            for r in conn.execute(query)
        ]


def counts_by_state(engine: Engine, *, since: datetime | None = None) -> dict[str, int]:
    """How many events are in each state (received since ``since`` when given)."""
    query = select(events.c.state, func.count()).group_by(events.c.state)
    if since is not None:
        query = query.where(events.c.received_at >= since)
    with reading(engine) as conn:
        return {state: int(count) for state, count in conn.execute(query)}


def queue_stats(engine: Engine, *, now: datetime) -> dict[str, Any]:
    """The queue at ``now``: waiting (ready and due), scheduled (ready, later), running, dead.

    Keys: ``waiting``, ``scheduled``, ``running``, ``dead`` (counts) and
    ``oldest_waiting_seconds`` (age of the longest-waiting due job, or None).
    """
    due = and_(jobs.c.state == JobState.READY, jobs.c.run_at <= now)
    with reading(engine) as conn:
        per_state: dict[str, int] = dict(
            conn.execute(
                select(jobs.c.state, func.count())
                .where(jobs.c.state.in_((*ACTIVE_JOB_STATES, JobState.DEAD)))
                .group_by(jobs.c.state)
            ).all()
        )
        waiting = conn.execute(select(func.count()).select_from(jobs).where(due)).scalar_one()
        oldest = conn.execute(select(func.min(jobs.c.run_at)).where(due)).scalar_one_or_none()
    ready = int(per_state.get(JobState.READY, 0))
    return {
        "waiting": int(waiting),
        "scheduled": ready - int(waiting),
        "running": int(per_state.get(JobState.RUNNING, 0)),
        "dead": int(per_state.get(JobState.DEAD, 0)),
        "oldest_waiting_seconds": (
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
        ),
    }


def jobs_died(engine: Engine, *, after: datetime, until: datetime) -> list[tuple[Any, ...]]:
    """``(event id, reason, finished at, source)`` of jobs that died in ``(after, until]``."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(jobs.c.event_id, jobs.c.last_error, jobs.c.finished_at, events.c.source)
            .join(events, events.c.id == jobs.c.event_id)
            .where(
                jobs.c.state == JobState.DEAD,
                jobs.c.finished_at > after,
                jobs.c.finished_at <= until,
            )
            .order_by(jobs.c.finished_at)
        ).all()
    return [tuple(row) for row in rows]
