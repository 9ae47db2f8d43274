"""The claim's statements: take due jobs, mark their events ``processing``, read what a run needs.

On SQLite these are three statements inside ``BEGIN IMMEDIATE`` (no round trips: the
database is in the process).  On PostgreSQL, where every statement is a round trip, they
are one: the claim and the event's update as data-modifying CTEs, the event's delivery rows
as a JSON array beside each claimed job.  Built once per ``limit`` (see ``queue.py``).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import JSON, Select, Update, and_, bindparam, func, or_, select, text, update
from sqlalchemy.sql.expression import type_coerce

from bridge.store.db import RELAX_COMMIT
from bridge.store.states import EventState, JobState
from bridge.store.tables import JOBS_UNFINISHED, deliveries, events, jobs

START_EVENT = (
    update(events)
    .where(events.c.id == bindparam("p_event_id"))
    .values(
        state=EventState.PROCESSING, updated_at=bindparam("p_now", type_=events.c.updated_at.type)
    )
    .returning(
        events.c.event,
        events.c.rules_digest,
        events.c.body,
        events.c.headers,
        events.c.content_type,
        events.c.source,
        events.c.received_at,
    )
)
# The event's delivery rows as the claim found them (none on a first run): what the run
# would otherwise read, one rule at a time, in transactions of their own.
EVENT_DELIVERIES = select(deliveries).where(deliveries.c.event_id == bindparam("p_event_id"))


@cache
def claim_statement(limit: int) -> Update:
    """Take up to ``limit`` due jobs, oldest first, skipping jobs another claim holds."""
    now = bindparam("p_now", type_=jobs.c.run_at.type)
    # Due: ready and its time has come, or running with its lease run out.  A running
    # job's run_at is in the past (it was due when claimed), so both are "unfinished
    # with run_at <= now": the partial index ix_jobs_due yields them in order.
    due = and_(
        text(JOBS_UNFINISHED),
        jobs.c.run_at <= now,
        or_(jobs.c.state == JobState.READY, jobs.c.lease_expires_at < now),
    )
    candidates = (
        select(jobs.c.id)
        .where(due)
        .order_by(jobs.c.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(jobs)
        .where(jobs.c.id.in_(candidates))
        .values(
            state=JobState.RUNNING,
            lease_owner=bindparam("p_owner"),
            lease_expires_at=bindparam("p_expires", type_=jobs.c.lease_expires_at.type),
            claims=jobs.c.claims + 1,
        )
        .returning(
            jobs.c.id,
            jobs.c.event_id,
            jobs.c.attempts,
            jobs.c.claims,
            jobs.c.created_at,
            jobs.c.rules_digest,
        )
    )


@cache
def claim_with_event_statement(limit: int, max_crashes: int) -> Select[tuple[object, ...]]:
    """PostgreSQL: the claim, the events' ``processing`` and their delivery rows, one statement.

    Each row is the claimed job's (as ``claim_statement`` returns it), then the event's
    payload, rules digest and request (body, headers, content type, source, arrival) and its
    delivery rows
    (JSON, null for none), and ``relaxed`` (``RELAX_COMMIT``).  A job whose
    worker died more than ``max_crashes`` times is claimed but its event left alone: the
    caller buries both.  The CTEs share the statement's snapshot, as the three statements
    shared the transaction; the delivery rows are read as they were before the statement.
    """
    claimed = claim_statement(limit).cte("claimed")
    started = (
        update(events)
        .where(
            events.c.id == claimed.c.event_id,
            claimed.c.claims - claimed.c.attempts <= max_crashes,
        )
        .values(
            state=EventState.PROCESSING,
            updated_at=bindparam("p_now", type_=events.c.updated_at.type),
        )
        .returning(
            events.c.id,
            events.c.event,
            events.c.rules_digest,
            events.c.body,
            events.c.headers,
            events.c.content_type,
            events.c.source,
            events.c.received_at,
        )
        .cte("started")
    )
    rows = deliveries.alias("d")
    known = (
        select(func.json_agg(rows.table_valued()))
        .where(rows.c.event_id == started.c.id)
        .scalar_subquery()
    )
    return select(
        claimed.c.id,
        claimed.c.event_id,
        claimed.c.attempts,
        claimed.c.claims,
        claimed.c.created_at,
        claimed.c.rules_digest,
        started.c.id.label("started"),
        started.c.event,
        started.c.rules_digest.label("event_rules_digest"),
        started.c.body,
        started.c.headers,
        started.c.content_type,
        started.c.source,
        started.c.received_at,
        type_coerce(known, JSON).label("deliveries"),
        RELAX_COMMIT,  # the claim's commit does not wait for the disk (no SET LOCAL sent)
    ).select_from(claimed.outerjoin(started, started.c.id == claimed.c.event_id))
