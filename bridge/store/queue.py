"""The job queue: claims with a lease, heartbeats, and completion fenced by ownership.

PostgreSQL claims with ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING``; SQLite runs the same statement inside ``BEGIN IMMEDIATE`` (the
engine's begin hook), which serialises claimers.  Every write commits (and, on
SQLite with ``synchronous=FULL``, syncs to disk), so a job run costs as few of
them as possible: the claim also reads the event and its delivery rows (the run that
follows reads nothing in a transaction of its own), and settling a job carries the
caller's other writes (``also``) in the same transaction, applied only while the
worker still owns the job (on PostgreSQL in the same statement as the job's update:
``settle_statements.py``).  On PostgreSQL the claim and such a settlement are each one
statement run in autocommit (``db.one_statement``): one round trip, where a transaction
around it would add a ``BEGIN`` and a ``COMMIT`` of their own.  Claims, settlements and
releases do not wait for the disk (``transaction(durable=False)``, or ``RELAX_COMMIT``
selected by the one statement): if the machine loses them, the job runs again and the
delivery protocol finds the task it already made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, Executable, and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from bridge.store.claim_statements import (
    EVENT_DELIVERIES,
    START_EVENT,
    claim_statement,
    claim_with_event_statement,
)
from bridge.store.db import one_statement, reading, transaction
from bridge.store.driver_statements import execute
from bridge.store.settle_statements import fold
from bridge.store.states import EventState, JobState
from bridge.store.tables import events, jobs
from bridge.store.types import StoredRequest

# A job whose worker died this many times without reaching an outcome is dead:
# it would otherwise stop every worker that takes it, forever.
MAX_CRASHES = 3

# A write to commit with a job's outcome: a statement and its parameters (a list for many rows).
Write = tuple[Executable, Mapping[str, Any] | Sequence[Mapping[str, Any]] | None]

# The hot statements are built once, with their values as bound parameters: building
# and cache-keying a new statement object on every execution cost more CPU than
# running it (see BENCHMARKS.md, Drain).  Parameter names start with ``p_`` because
# SQLAlchemy reserves column names for the SET clause.
_OWNED = and_(
    jobs.c.id == bindparam("p_job_id"),
    jobs.c.lease_owner == bindparam("p_owner"),
    jobs.c.state == JobState.RUNNING,
)
_RENEW = (
    update(jobs)
    .where(_OWNED, jobs.c.lease_expires_at > bindparam("p_now", type_=jobs.c.run_at.type))
    .values(lease_expires_at=bindparam("p_expires", type_=jobs.c.run_at.type))
)
_SETTLE = (
    update(jobs)
    .where(_OWNED)
    .values(
        state=bindparam("p_state"),
        run_at=func.coalesce(bindparam("p_run_at", type_=jobs.c.run_at.type), jobs.c.run_at),
        finished_at=bindparam("p_finished_at", type_=jobs.c.finished_at.type),
        attempts=jobs.c.attempts + 1,
        lease_owner=None,
        lease_expires_at=None,
        last_error=bindparam("p_error", type_=jobs.c.last_error.type),
    )
)
_RELEASE = (
    update(jobs)
    .where(_OWNED)
    .values(
        state=JobState.READY,
        run_at=bindparam("p_run_at", type_=jobs.c.run_at.type),
        claims=jobs.c.claims - 1,
        lease_owner=None,
        lease_expires_at=None,
    )
)


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker now owns until its lease expires."""

    id: int
    event_id: str
    attempts: int
    claims: int
    created_at: datetime
    rules_digest: str | None
    # The event as stored with the job (Event.to_json(with_raw=False); None until the worker
    # has parsed it), the rules it first ran with, and the request it came in (its raw is
    # rebuilt from the body).
    event: dict[str, Any] | None = None
    event_rules_digest: str | None = None
    request: StoredRequest | None = None
    # The event's delivery rows by rule, read in the claim's transaction (None: not read).
    deliveries: Mapping[str, Mapping[str, Any]] | None = None
    # The source the event came in on, and when: what a parse in the worker needs.
    source: str | None = None
    received_at: datetime | None = None


_CLAIMED_COLUMNS = ("id", "event_id", "attempts", "claims", "created_at", "rules_digest")


def _claimed(row: Mapping[str, Any]) -> ClaimedJob:
    """A job from the one-statement claim: its event's payload and delivery rows beside it."""
    job = ClaimedJob(*(row[name] for name in _CLAIMED_COLUMNS))
    if row["started"] is None:  # the event is gone, or the job is to be buried
        return job
    known = {found["rule"]: found for found in row["deliveries"] or ()}
    return replace(
        job,
        event=row["event"],
        event_rules_digest=row["event_rules_digest"],
        request=StoredRequest.of(row["body"], row["headers"], row["content_type"]),
        deliveries=known,
        source=row["source"],
        received_at=row["received_at"],
    )


def renewed_cte(name: str = "renewed") -> CTE:
    """PostgreSQL: the lease's renewal (``Lease.renew``'s update, its parameters ``p_job_id``,
    ``p_owner``, ``p_now``, ``p_expires``) as a CTE with the job's id: no row, lease lost."""
    return _RENEW.returning(jobs.c.id).cte(name)


def claim_params(worker_id: str, lease_seconds: float, now: datetime) -> dict[str, Any]:
    """The claim statements' parameters: due at ``now``, leased to ``worker_id``."""
    return {
        "p_now": now,
        "p_owner": worker_id,
        "p_expires": now + timedelta(seconds=lease_seconds),
    }


def settle_params(
    job_id: int,
    worker_id: str,
    state: str,
    finished_at: datetime | None,
    run_at: datetime | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """``_SETTLE``'s parameters: the job's new state, only while ``worker_id`` owns it."""
    return {
        "p_job_id": job_id,
        "p_owner": worker_id,
        "p_state": state,
        "p_finished_at": finished_at,
        "p_run_at": run_at,
        "p_error": error,
    }


class LeaseLost(Exception):
    """This worker no longer owns the job: another worker may be running it now."""


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one job, renewed right before each write to iVvy that is not safe
    to repeat, so that two workers never both send it (the fencing check)."""

    job_id: int
    worker_id: str
    seconds: float

    def renew(self, conn: Connection, now: datetime) -> None:
        """Extend the lease inside the caller's transaction, or raise LeaseLost."""
        if execute(conn, _RENEW, self.renewal(now)).rowcount != 1:
            raise self.lost()

    def renewal(self, now: datetime) -> dict[str, Any]:
        """The renewal's parameters, for ``_RENEW`` or ``renewed_cte``."""
        return {
            "p_job_id": self.job_id,
            "p_owner": self.worker_id,
            "p_now": now,
            "p_expires": now + timedelta(seconds=self.seconds),
        }

    def lost(self) -> LeaseLost:
        """The error to raise when the renewal found the job no longer this worker's."""
        return LeaseLost(f"job {self.job_id} is no longer held by this worker")


class Queue:
    """Operations on the jobs table, each one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs (or jobs whose lease expired) for ``worker_id``."""
        params = claim_params(worker_id, lease_seconds, now)
        if self.engine.dialect.name == "postgresql":  # each statement a round trip
            return self._claim_in_one_statement(limit, params, now)
        with transaction(self.engine, durable=False) as conn:
            claimed = [
                ClaimedJob(*row) for row in execute(conn, claim_statement(limit), params).rows
            ]
            poisoned = [job for job in claimed if job.claims - job.attempts > MAX_CRASHES]
            for job in poisoned:
                self._bury(conn, job, now)
            return [self._with_event(conn, job, now) for job in claimed if job not in poisoned]

    def _claim_in_one_statement(
        self, limit: int, params: Mapping[str, Any], now: datetime
    ) -> list[ClaimedJob]:
        """PostgreSQL: the claim as one statement in autocommit, one round trip in all."""
        statement = claim_with_event_statement(limit, MAX_CRASHES)
        with one_statement(self.engine) as conn:
            claimed = [_claimed(row) for row in execute(conn, statement, params).mappings()]
        poisoned = [job for job in claimed if job.claims - job.attempts > MAX_CRASHES]
        if poisoned:
            # Rare, so in a transaction of its own after the claim: the claim left these
            # jobs' events alone, and this worker holds their leases until they are buried.
            with transaction(self.engine, durable=False) as conn:
                for job in poisoned:
                    self._bury(conn, job, now)
        return [job for job in claimed if job not in poisoned]

    @staticmethod
    def _bury(conn: Connection, job: ClaimedJob, now: datetime) -> None:
        crashes = job.claims - job.attempts - 1  # this claim is not one of them
        reason = (
            f"its worker stopped {crashes} times while running it; "
            "check the worker logs, fix the cause and replay"
        )
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job.id)
            .values(state=JobState.DEAD, finished_at=now, lease_owner=None, last_error=reason)
        )
        conn.execute(
            update(events)
            .where(events.c.id == job.event_id)
            .values(state=EventState.DEAD, last_error=reason, updated_at=now)
        )

    @staticmethod
    def _with_event(conn: Connection, job: ClaimedJob, now: datetime) -> ClaimedJob:
        row = execute(conn, START_EVENT, {"p_event_id": job.event_id, "p_now": now}).one_or_none()
        if row is None:
            return job
        request = StoredRequest.of(row[2], row[3], row[4])
        rows = execute(conn, EVENT_DELIVERIES, {"p_event_id": job.event_id}).mappings()
        known = {found["rule"]: found for found in rows}
        return replace(
            job,
            event=row[0],
            event_rules_digest=row[1],
            request=request,
            deliveries=known,
            source=row[5],
            received_at=row[6],
        )

    def heartbeat(
        self, job_ids: Iterable[int], worker_id: str, *, lease_seconds: float, now: datetime
    ) -> set[int]:
        """Extend the leases this worker still holds; returns the ids it still owns."""
        ids = list(job_ids)
        if not ids:
            return set()
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(jobs)
                .where(
                    jobs.c.id.in_(ids),
                    jobs.c.lease_owner == worker_id,
                    jobs.c.state == JobState.RUNNING,
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(jobs.c.id)
            ).all()
        return {row[0] for row in rows}

    def complete(
        self, job_id: int, worker_id: str, *, now: datetime, also: Sequence[Write] = ()
    ) -> bool:
        """Mark the job done, only if this worker still owns it (then run ``also`` too)."""
        return self._settle(job_id, worker_id, JobState.DONE, now, None, None, also)

    def kill(
        self, job_id: int, worker_id: str, *, error: str, now: datetime, also: Sequence[Write] = ()
    ) -> bool:
        """Mark the job dead (no more attempts), with the reason a person will read."""
        return self._settle(job_id, worker_id, JobState.DEAD, now, None, error, also)

    def retry(
        self,
        job_id: int,
        worker_id: str,
        *,
        run_at: datetime,
        error: str,
        now: datetime,
        also: Sequence[Write] = (),
    ) -> bool:
        """Count the attempt and put the job back to run again at ``run_at``."""
        return self._settle(job_id, worker_id, JobState.READY, None, run_at, error, also)

    def _settle(
        self,
        job_id: int,
        worker_id: str,
        state: str,
        finished_at: datetime | None,
        run_at: datetime | None,
        error: str | None,
        also: Sequence[Write],
    ) -> bool:
        params = settle_params(job_id, worker_id, state, finished_at, run_at, error)
        # PostgreSQL: one statement (one round trip, in autocommit) when the writes allow it.
        # It relaxes its own commit; one by one, the begin hook sends SET LOCAL.
        folded = fold(_SETTLE, params, also) if self.engine.dialect.name == "postgresql" else None
        if folded is not None:
            with one_statement(self.engine) as conn:
                return bool(execute(conn, *folded).rows)
        with transaction(self.engine, durable=False) as conn:
            owned = execute(conn, _SETTLE, params).rowcount == 1
            if owned:
                for statement, values in also:
                    execute(conn, statement, values)
            return owned

    def release(
        self, job_id: int, worker_id: str, *, now: datetime, run_at: datetime | None = None
    ) -> bool:
        """Give a job back unfinished (graceful stop), the claim not held against it.

        ``run_at`` (default now) holds it back while a call it started may still land.
        """
        params = {"p_job_id": job_id, "p_owner": worker_id, "p_run_at": run_at or now}
        with transaction(self.engine, durable=False) as conn:
            return conn.execute(_RELEASE, params).rowcount == 1

    def depth(self, *, now: datetime) -> tuple[int, float | None]:
        """Jobs waiting to run now, and the age in seconds of the oldest of them."""
        waiting = and_(jobs.c.state == JobState.READY, jobs.c.run_at <= now)
        with reading(self.engine) as conn:
            count = conn.execute(select(func.count()).select_from(jobs).where(waiting)).scalar_one()
            oldest = conn.execute(
                select(jobs.c.run_at).where(waiting).order_by(jobs.c.run_at).limit(1)
            ).scalar_one_or_none()
        if oldest is None:
            return int(count), None
        return int(count), max(0.0, (now - oldest).total_seconds())
