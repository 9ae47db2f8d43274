"""Operating the queue: replaying events, listing dead jobs, pruning old rows.

Every function takes the engine and returns JSON-able values, so the CLI and
the admin API share them.  Datetimes in results are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from bridge.store.db import reading
from bridge.store.inbox import enqueue
from bridge.store.pruning import prune
from bridge.store.states import ACTIVE_JOB_STATES, DeliveryState, EventState, JobState
from bridge.store.tables import deliveries, events, jobs, rule_sets

__all__ = [
    "ReplayRefused",
    "Replayed",
    "dead_jobs",
    "prune",
    "replay_event",
    "replay_report",
]

NO_SUCH_EVENT = "no such event"
MAX_DEAD = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _selected_ids(
    conn: Connection,
    *,
    event_ids: Sequence[str] | None,
    state: str | None,
    source: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[str]:
    if event_ids is None and not (state or source or since or until):
        raise ValueError("choose events to replay: ids, or a state, source or time window")
    conditions: list[ColumnElement[bool]] = []
    if event_ids is not None:
        conditions.append(events.c.id.in_(list(event_ids)))
    if state:
        conditions.append(events.c.state == state)
    if source:
        conditions.append(events.c.source == source)
    if since is not None:
        conditions.append(events.c.received_at >= since)
    if until is not None:
        conditions.append(events.c.received_at < until)
    query = select(events.c.id).where(*conditions).order_by(events.c.received_at, events.c.id)
    return [row[0] for row in conn.execute(query)]


def _refusal(conn: Connection, event_id: str, rules: str) -> tuple[str | None, str | None]:
    """Why this event cannot be replayed now (or None), and the rules digest to pin."""
    row = conn.execute(
        select(events.c.state, events.c.rules_digest)
        .where(events.c.id == event_id)
        .with_for_update()  # two replays of one event queue one job between them
    ).one_or_none()
    if row is None:
        return NO_SUCH_EVENT, None
    # An event not yet parsed (its job died first) is replayed like any: the worker parses it.
    if row.state == EventState.INVALID:
        return "the delivery could not be parsed, so there is nothing to replay", None
    active = conn.execute(
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.event_id == event_id, jobs.c.state.in_(ACTIVE_JOB_STATES))
    ).scalar_one()
    if active:
        return "a job for it is already waiting or running", None
    digest = row.rules_digest if rules == "original" else None
    if digest is not None:
        stored = conn.execute(
            select(rule_sets.c.digest).where(rule_sets.c.digest == digest)
        ).scalar_one_or_none()
        if stored is None:
            return "the rules it first ran with are no longer stored", None
    return None, digest


class ReplayRefused(ValueError):
    """The event cannot be replayed now; the message says why and is safe to show."""


@dataclass(frozen=True)
class Replayed:
    """What replaying one event did."""

    event_id: str
    job_id: int
    reset_deliveries: int  # failed deliveries put back to pending
    kept_deliveries: int  # deliveries left alone (done ones, mostly)
    rules_digest: str | None  # pinned rules, or None for the current ones

    def to_json(self) -> dict[str, object]:
        """The result as the admin API answers it."""
        return {
            "event": self.event_id,
            "job": self.job_id,
            "reset_deliveries": self.reset_deliveries,
            "kept_deliveries": self.kept_deliveries,
            "rules_digest": self.rules_digest,
        }


def replay_event(
    engine: Engine,
    event_id: str,
    *,
    rules: Literal["current", "original"] = "current",
    now: datetime,
    dry_run: bool = False,
) -> Replayed | None:
    """Replay one event in one transaction (see :func:`replay_report`); None on a dry run.

    Raises LookupError for an unknown event and ReplayRefused when it cannot be
    replayed now.
    """
    if rules not in ("current", "original"):
        raise ReplayRefused("rules must be 'current' or 'original'")
    with engine.begin() as conn:
        reason, digest = _refusal(conn, event_id, rules)
        if reason == NO_SUCH_EVENT:
            raise LookupError(event_id)
        if reason is not None:
            raise ReplayRefused(reason)
        if dry_run:
            return None
        reset = conn.execute(
            update(deliveries)
            .where(deliveries.c.event_id == event_id, deliveries.c.state == DeliveryState.FAILED)
            .values(state=DeliveryState.PENDING, error=None, updated_at=now)
        ).rowcount
        total = conn.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.event_id == event_id)
        ).scalar_one()
        conn.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(state=EventState.RECEIVED, last_error=None, updated_at=now)
        )
        enqueue(conn, event_id, now, rules_digest=digest)
        job_id = conn.execute(
            select(func.max(jobs.c.id)).where(jobs.c.event_id == event_id)
        ).scalar_one()
    return Replayed(event_id, int(job_id), int(reset), int(total) - int(reset), digest)


def _replay_one(
    engine: Engine,
    event_id: str,
    rules: Literal["current", "original"],
    now: datetime,
    dry_run: bool,
) -> str | None:
    """Replay one event; the reason it was skipped, or None."""
    try:
        replay_event(engine, event_id, rules=rules, now=now, dry_run=dry_run)
    except LookupError:
        return NO_SUCH_EVENT
    except ReplayRefused as exc:
        return str(exc)
    return None


def replay_report(
    engine: Engine,
    *,
    event_ids: Sequence[str] | None = None,
    state: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    rules: Literal["current", "original"] = "current",
    now: datetime,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Replay the chosen events; ``{"replayed": [ids], "skipped": [{"event_id", "reason"}]}``.

    Events are chosen by id, or by event state, source and ``[since, until)``
    window on received time (at least one selector is required, else
    ValueError).  Each event, in one transaction: its failed deliveries go back
    to pending (error cleared), the event goes back to ``received`` and a new
    ready job is queued, pinned to the rules the event first ran with when
    ``rules="original"``.  Done deliveries stay done, so a task that exists is
    never created twice.  Skipped, with the reason: unknown ids, ``invalid`` events
    (no parsed payload), events with a job already ready or running, and pinned
    replays whose original rules are no longer stored.  With ``dry_run`` nothing
    is written and ``replayed`` lists the events that would be.
    """
    if rules not in ("current", "original"):
        raise ValueError("rules must be 'current' or 'original'")
    with reading(engine) as conn:
        chosen = _selected_ids(
            conn, event_ids=event_ids, state=state, source=source, since=since, until=until
        )
    found = set(chosen)
    missing = [eid for eid in dict.fromkeys(event_ids or ()) if eid not in found]
    replayed: list[str] = []
    skipped = [{"event_id": eid, "reason": "no such event matches"} for eid in missing]
    for event_id in chosen:
        reason = _replay_one(engine, event_id, rules, now, dry_run)
        if reason is None:
            replayed.append(event_id)
        else:
            skipped.append({"event_id": event_id, "reason": reason})
    return {"replayed": replayed, "skipped": skipped}


def dead_jobs(
    engine: Engine, *, limit: int = 100, source: str | None = None
) -> list[dict[str, Any]]:
    """Dead jobs not yet replayed, most recently dead first, with the reason each died.

    Each item: ``job`` (id), ``event_id``, ``source``, ``kind``,
    ``received_at``, ``attempts``, ``reason`` (the job's last error) and
    ``finished_at``.  A dead job whose event has been queued again since (a
    replay) is left out: it is history, not work waiting for a person.
    """
    limit = max(1, min(limit, MAX_DEAD))
    later = jobs.alias("later")
    replayed = exists().where(and_(later.c.event_id == jobs.c.event_id, later.c.id > jobs.c.id))
    query = (
        select(
            jobs.c.id,
            jobs.c.event_id,
            events.c.source,
            events.c.kind,
            events.c.received_at,
            jobs.c.attempts,
            jobs.c.last_error,
            jobs.c.finished_at,
        )
        .join(events, events.c.id == jobs.c.event_id)
        .where(jobs.c.state == JobState.DEAD, ~replayed)
        .order_by(jobs.c.finished_at.desc(), jobs.c.id.desc())
        .limit(limit)
    )
    if source:
        query = query.where(events.c.source == source)
    with reading(engine) as conn:
        return [
            {
                "job": row.id,
                "event_id": row.event_id,
                "source": row.source,
                "kind": row.kind,
                "received_at": _iso(row.received_at),
                "attempts": row.attempts,
                "reason": row.last_error,
                "finished_at": _iso(row.finished_at),
            }
            for row in conn.execute(query)
        ]
