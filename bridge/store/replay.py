"""Replaying an event: failed deliveries back to pending, one new job; done stays done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bridge.store.inbox import enqueue
from bridge.store.tables import deliveries, events, jobs, rule_sets


class ReplayRefused(ValueError):
    """The event cannot be replayed now; the message says why and is safe to show."""


@dataclass(frozen=True)
class Replayed:
    """What a replay did."""

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
) -> Replayed:
    """Re-enqueue an event in one transaction.  Raises LookupError or ReplayRefused.

    A task that exists is never created twice: done deliveries stay done (the
    runner skips them), failed ones go back to pending, and deliveries caught
    mid-creation are left for the runner to resume through their marker.
    ``rules="original"`` pins the rules the event first ran with.
    """
    if rules not in ("current", "original"):
        raise ReplayRefused("rules must be 'current' or 'original'")
    with engine.begin() as conn:
        row = conn.execute(
            select(events.c.state, events.c.event, events.c.rules_digest)
            .where(events.c.id == event_id)
            .with_for_update()  # two replays of one event queue one job between them
        ).one_or_none()
        if row is None:
            raise LookupError(event_id)
        if row.event is None:
            raise ReplayRefused("this delivery could not be parsed, so there is nothing to replay")
        active = conn.execute(
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.event_id == event_id, jobs.c.state.in_(("ready", "running")))
        ).scalar_one()
        if active:
            raise ReplayRefused("this event already has a job waiting or running")
        digest = row.rules_digest if rules == "original" else None
        if digest is not None:
            known = conn.execute(
                select(rule_sets.c.digest).where(rule_sets.c.digest == digest)
            ).scalar_one_or_none()
            if known is None:
                raise ReplayRefused("the rules this event first ran with are no longer stored")
        reset = conn.execute(
            update(deliveries)
            .where(deliveries.c.event_id == event_id, deliveries.c.state == "failed")
            .values(state="pending", error=None, updated_at=now)
        ).rowcount
        total = conn.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.event_id == event_id)
        ).scalar_one()
        conn.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(state="received", last_error=None, updated_at=now)
        )
        enqueue(conn, event_id, now, rules_digest=digest)
        job_id = conn.execute(
            select(func.max(jobs.c.id)).where(jobs.c.event_id == event_id)
        ).scalar_one()
    return Replayed(event_id, int(job_id), int(reset), int(total) - int(reset), digest)
