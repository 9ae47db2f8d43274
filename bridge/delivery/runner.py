"""One job: evaluate the event's rules, then deliver each matched rule's task."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from bridge.config import Config
from bridge.delivery.actions import ActionFailed, TaskActor, WaitForTask
from bridge.delivery.directory import Directory
from bridge.delivery.owner_records import OwnerUnavailable
from bridge.delivery.tasks import TaskCreator
from bridge.evaluation import evaluate_event
from bridge.events import Event
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError
from bridge.rules.task_schema import TaskPayloadInvalid
from bridge.sources.base import PayloadInvalid, SourceUnavailable
from bridge.sources.stored import parse_stored, stored_event
from bridge.store.deliveries import DeliveryConflict, DeliveryRecord, DeliveryStore
from bridge.store.events import event_write, parsed_columns
from bridge.store.queue import ClaimedJob, Lease, LeaseLost, Write
from bridge.store.rule_sets import remember_rules, stored_rules
from bridge.store.states import DeliveryState, EventState
from bridge.store.types import StoredRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """What the worker does with the job next.

    ``lost``: the job's lease went to another worker, which settles it; this
    worker leaves it alone.  ``ivvy_failure``: iVvy failed transiently (this
    counts towards the circuit breaker).  ``event_state``: the event's state
    when the job dies, or ``invalid`` for a job done because the worker's parse
    refused the body.  ``writes``: statements to commit with the job's outcome
    (deliveries done, the event's state), only while the worker still owns it.
    ``parsed``: the columns of the event this run parsed (``parsed_columns``), for
    any write of the event's state.
    ``source``, ``received_at``, ``tasks_created`` and ``deliveries_failed`` are
    for the metrics: the event's source and arrival, and what this run did.
    """

    outcome: Literal["done", "retry", "dead", "lost"]
    error: str | None = None
    retry_after: float | None = None
    ivvy_failure: bool = False
    event_state: EventState = EventState.DEAD
    writes: tuple[Write, ...] = ()
    parsed: Mapping[str, Any] | None = None
    source: str | None = None
    received_at: datetime | None = None
    tasks_created: int = 0
    deliveries_failed: int = 0


@dataclass
class _Run:
    """What one run has done so far: deliveries that reached their task, and failures."""

    done: list[Write] = field(default_factory=list)
    acted: int = 0  # of done: deliveries that acted on earlier tasks (no task created)
    failed: int = 0
    source: str | None = None
    received_at: datetime | None = None
    parsed: Mapping[str, Any] | None = None  # the event's columns, when this run parsed it


class RulesUnavailable(Exception):
    """The rules a pinned replay asks for are no longer stored."""


class _VenueLookups:
    """The engine's view of iVvy: a venue's timezone, through the cached directory."""

    def __init__(self, client: IvvyClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory

    def venue_timezone(self, venue_id: int) -> str | None:
        return self.directory.venue_timezone(self.client, venue_id)


class JobRunner:
    """Runs jobs for one worker thread, with that thread's iVvy client."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        client: IvvyClient,
        directory: Directory,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.config = config
        self.client = client
        self.clock = clock
        self.store = DeliveryStore(engine)
        self.creator = TaskCreator(engine, client, directory, clock)
        self.actor = TaskActor(engine, client, directory, clock)
        self.lookups = _VenueLookups(client, directory)
        self.calendar = config.calendar()  # built once: it caches holidays per year
        self._stored_digests: set[str] = set()

    def run(self, job: ClaimedJob, lease: Lease | None = None) -> JobResult:
        """Process the job's event; transient iVvy failures come back as ``retry``."""
        run = _Run()
        result = self._outcome(job, lease, run)
        return replace(
            result,
            parsed=run.parsed,
            source=run.source,
            received_at=run.received_at,
            tasks_created=len(run.done) - run.acted,
            deliveries_failed=run.failed,
        )

    def _outcome(self, job: ClaimedJob, lease: Lease | None, run: _Run) -> JobResult:
        try:
            return self._run(job, lease, run)
        except (LeaseLost, DeliveryConflict) as exc:
            return JobResult("lost", str(exc))
        except RulesUnavailable as exc:
            return JobResult("dead", str(exc))
        except IvvyError as exc:
            # Raised outside a delivery: a venue lookup while evaluating the rules.
            if exc.retryable:
                writes = (
                    *run.done,
                    self._event_write(job, run, EventState.RETRYING, str(exc), None),
                )
                return JobResult(
                    "retry", str(exc), exc.retry_after, ivvy_failure=True, writes=writes
                )
            return JobResult("dead", str(exc), writes=tuple(run.done))

    def _run(self, job: ClaimedJob, lease: Lease | None, run: _Run) -> JobResult:
        request = job.request
        if request is None:  # the claim found no event row
            return JobResult("dead", "the event is no longer stored")
        if job.event is None:
            parsed = self._parse(job, request)
            if isinstance(parsed, JobResult):
                return parsed
            event = parsed
            run.parsed = parsed_columns(event)
        else:
            event = stored_event(job.event, request)
        run.source, run.received_at = event.source, event.received_at
        rules, digest = self._rules(job, job.event_rules_digest)
        # The one evaluation preview runs too: a verdict's error is this run's failure.
        outcomes = evaluate_event(
            self.config,
            event,
            event.received_at,  # due dates count from when the event arrived, on every retry
            rules=rules,
            calendar=self.calendar,
            lookups=self.lookups,
        )
        delivered = 0
        failures: list[str] = []
        for outcome in outcomes:
            if not outcome.matched:
                continue
            # The claim read the event's delivery rows in its own transaction.
            record = self.store.get_or_new(job.event_id, outcome.rule, job.deliveries)
            if record.state in (DeliveryState.DONE, DeliveryState.ACTED):
                delivered += 1
                continue
            if record.state == DeliveryState.FAILED:
                # Failed for good in an earlier run; a replay puts it back to pending.
                failures.append(f"rule {outcome.rule}: {record.error}")
                continue
            try:
                if outcome.action is not None and not outcome.error:
                    self.actor.act(record, outcome.action, event.received_at, lease)
                    self._acted(record, None, run)
                    delivered += 1
                    continue
                if outcome.error or outcome.plan is None:
                    raise OwnerUnavailable(outcome.error or "the rule produced no task")
                updated = None
                if outcome.plan.update_open is not None:
                    updated = self.actor.update_open(record, outcome.plan, event.received_at, lease)
                if updated is not None:
                    self._acted(record, updated, run)
                else:
                    task_id = self.creator.deliver(record, outcome.plan, lease)
                    run.done.append(self.store.done(record, task_id, self.clock()))
                delivered += 1
            except WaitForTask as exc:
                writes = (
                    *run.done,
                    self._event_write(job, run, EventState.RETRYING, str(exc), digest),
                )
                return JobResult("retry", str(exc), exc.retry_after, writes=writes)
            except IvvyError as exc:
                if not exc.retryable:
                    failures.append(self._fail(record, outcome.rule, str(exc), run))
                    continue
                writes = (
                    *run.done,
                    self._event_write(job, run, EventState.RETRYING, str(exc), digest),
                )
                return JobResult(
                    "retry", str(exc), exc.retry_after, ivvy_failure=True, writes=writes
                )
            except (OwnerUnavailable, TaskPayloadInvalid, ActionFailed) as exc:
                failures.append(self._fail(record, outcome.rule, str(exc), run))
        if failures:
            reason = "; ".join(failures)
            writes = (*run.done, self._event_write(job, run, EventState.FAILED, reason, digest))
            return JobResult("dead", reason, event_state=EventState.FAILED, writes=writes)
        state = EventState.DONE if delivered else EventState.NO_MATCH
        return JobResult(
            "done", writes=(*run.done, self._event_write(job, run, state, None, digest))
        )

    def _parse(self, job: ClaimedJob, request: StoredRequest) -> Event | JobResult:
        """The event parsed from its stored body, or what becomes of a job whose body does not.

        The door only verified the delivery and decoded its body (``SourceType.identify``);
        the parse, with the source's current options, happens here, on the first run.  A
        body that does not fit its sender's shape makes the event ``invalid`` with the
        parse's reason (it names fields, never values), and the job done: retrying would
        parse it the same way.
        """
        source = self.config.sources.get(job.source or "")
        if source is None:
            return JobResult(
                "dead",
                f"the source {job.source!r} is not configured now, so its body cannot be parsed",
            )
        try:
            return parse_stored(source, request, job.received_at or self.clock())
        except SourceUnavailable as exc:
            return JobResult("retry", str(exc))
        except PayloadInvalid as exc:
            # The reason names the fields at fault, never their values.
            log.warning(
                "event invalid: its body does not fit its sender's shape",
                extra={"event_id": job.event_id, "source": job.source, "reason": str(exc)[:200]},
            )
            write = event_write(job.event_id, EventState.INVALID, str(exc), self.clock())
            return JobResult("done", str(exc), event_state=EventState.INVALID, writes=(write,))

    def _acted(self, record: DeliveryRecord, task_id: int | None, run: _Run) -> None:
        """The delivery acted on earlier tasks (its task_actions rows say how)."""
        if record.id is None:  # nothing was selected, so nothing wrote the row yet
            self.store.update(record, self.clock(), durable=False)
        run.done.append(self.store.done(record, task_id, self.clock(), DeliveryState.ACTED))
        run.acted += 1

    def _fail(self, record: DeliveryRecord, rule: str, reason: str, run: _Run) -> str:
        """Mark a delivery failed for good (no retry: a person must act); the job's reason."""
        self.store.update(record, self.clock(), state=DeliveryState.FAILED, error=reason)
        run.failed += 1
        return f"rule {rule}: {reason}"

    def _event_write(
        self, job: ClaimedJob, run: _Run, state: EventState, error: str | None, digest: str | None
    ) -> Write:
        return event_write(job.event_id, state, error, self.clock(), digest, run.parsed)

    def _rules(self, job: ClaimedJob, first_digest: str | None) -> tuple[Sequence[Any], str]:
        """The current rules, or (for a pinned replay) the ones the event first ran with."""
        current = self.config
        if job.rules_digest and job.rules_digest != current.rules_digest:
            text = stored_rules(self.engine, job.rules_digest)
            if text is None:
                raise RulesUnavailable("the rules this event first ran with are no longer stored")
            return pinned_rules(text), job.rules_digest
        if current.rules_digest not in self._stored_digests:
            remember_rules(
                self.engine, current.rules_digest, json.dumps(current.rules_data), self.clock()
            )
            self._stored_digests.add(current.rules_digest)
        return current.rules, first_digest or current.rules_digest


def pinned_rules(text: str) -> list[Any]:
    """Rules stored as JSON by an earlier run (already interpolated), compiled again."""
    from bridge.rules.schema import RuleSchema

    schema = RuleSchema()
    return [schema.load(raw) for raw in json.loads(text)]
