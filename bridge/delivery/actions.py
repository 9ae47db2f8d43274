"""Completing, cancelling and updating tasks the bridge created, once per (event, rule, task).

Each action reads the task first (``getTaskList`` filtered on its id): a task a person
completed or cancelled is left alone, and one no longer in iVvy is skipped.  Before
``addOrUpdateTask`` is sent with the task's ``id``, the body is stored on the action's row
(durably, fenced on the job's lease); after iVvy answers, the row is ``done``.  A run that
finds a stored body (an answer lost, a worker killed, a replay) reads the task again: if it
already shows the body's changes the row is ``done`` without sending; otherwise the body is
computed again from what the task holds now and sent.  Every body the bridge sends is an
absolute value (a status, a due time, the whole description with one line added and that
line's marker), so a second send of the same body changes nothing that matters, and the
marker says whether a line was already added.  Only task ids from the bridge's own
deliveries are ever acted on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bridge.delivery.action_bodies import applied, new_description
from bridge.delivery.directory import Directory
from bridge.delivery.owner_records import OwnerUnavailable
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError
from bridge.rules.due import to_ivvy_utc
from bridge.rules.plan import ActionPlan, OwnerPlan, TaskChanges, TaskPlan
from bridge.rules.task_schema import validate_task_payload
from bridge.store.deliveries import DeliveryRecord, marker_for
from bridge.store.queue import Lease
from bridge.store.states import ActionState, DeliveryState
from bridge.store.task_actions import (
    CLOSED,
    TASK_GONE,
    ActionRecord,
    ActionStore,
    TaskRef,
    delivery_task,
    open_tasks,
    set_task_status,
)
from bridge.store.task_locks import claim_open_task, lock_task, unlock_task
from bridge.task_status import TaskStatus

TASK_NOT_FOUND = 24392  # addOrUpdateTask: the task id does not exist (deleted in iVvy)
LOCK_SECONDS = 60.0  # a task's lock when the run holds no lease (tests stepping a worker)
LOCK_WAIT_SECONDS = 5.0  # how long a run waits for another's change to a task, then retries


class WaitForTask(Exception):
    """The key's open task is still being created by another event: run again shortly."""

    retry_after = 2.0


class ActionFailed(Exception):
    """iVvy refused an action for good; the message is safe to show."""


class TaskActor:
    """Applies ActionPlans, and update_open's update of a key's open task."""

    def __init__(
        self,
        engine: Engine,
        client: IvvyClient,
        directory: Directory,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.client = client
        self.directory = directory
        self.clock = clock
        self.store = ActionStore(engine)

    # -- actions rules -----------------------------------------------------------------

    def act(
        self, record: DeliveryRecord, plan: ActionPlan, received_at: datetime, lease: Lease | None
    ) -> list[ActionRecord]:
        """Apply ``plan`` to each selected open task; ActionFailed when iVvy refuses one."""
        owner = self._owner(plan.owner) if plan.owner is not None else None
        if plan.owner is not None and owner is None:
            return []  # the owner is not in iVvy, so the bridge made no task for it
        since = received_at - timedelta(days=plan.within_days) if plan.within_days else None
        refs = open_tasks(
            self.engine, plan.of_rules, key=plan.key, owner=owner, until=received_at, since=since
        )
        done = [
            self.apply(record.event_id, record.rule, ref, plan.action, plan.changes, lease)
            for ref in refs
        ]
        failed = [a for a in done if a.state == ActionState.FAILED]
        if failed:
            raise ActionFailed("; ".join(f"task {a.task_id}: {a.error}" for a in failed))
        return done

    def _owner(self, plan: OwnerPlan) -> tuple[tuple[str, ...], int] | None:
        """The owner kinds and id the bridge stored on the deliveries of its tasks."""
        if plan.kind == "lead" and plan.id is not None:
            return ("lead", "opportunity"), plan.id
        if plan.kind in ("contact", "company") and plan.id is not None:
            return (plan.kind,), plan.id
        if plan.kind == "contact_email" and plan.email:
            found = self.client.find_contacts_by_email(plan.email)
            return (("contact",), int(found[0]["id"])) if found else None
        if plan.kind == "company_name" and plan.business_name:
            companies = self.client.find_companies_by_name(plan.business_name)
            return (("company",), int(companies[0]["id"])) if companies else None
        raise OwnerUnavailable("the rule's owner gives no id to find the bridge's tasks by")

    # -- update_open -------------------------------------------------------------------

    def update_open(
        self, record: DeliveryRecord, plan: TaskPlan, received_at: datetime, lease: Lease | None
    ) -> int | None:
        """The task this event updated instead of creating one, or None: create it.

        WaitForTask while the key's open task is still being created by another event.
        """
        assert plan.update_open is not None and plan.key is not None
        changes = TaskChanges(due=plan.due, append=plan.update_open.append or None)
        if record.open_task_of is not None:
            # Decided by an earlier run; if its update went through, that is final.
            state, ref = delivery_task(self.engine, record.open_task_of)
            if ref is not None:
                earlier = self.store.get_or_new(record.event_id, record.rule, ref, "update")
                if earlier.state == ActionState.DONE:
                    return ref.task_id
        for _ in range(2):  # a second pass only after finding the open task closed
            target = claim_open_task(
                self.engine,
                record,
                key=plan.key,
                within_days=plan.update_open.within_days,
                received_at=received_at,
                now=self.clock(),
                lease=lease,
            )
            if target is None:
                return None
            state, ref = delivery_task(self.engine, target)
            if ref is None or state != DeliveryState.DONE:
                raise WaitForTask(f"the open task of rule {plan.rule}'s key is being created")
            action = self.apply(record.event_id, record.rule, ref, "update", changes, lease)
            if action.state == ActionState.DONE:
                return ref.task_id
            if action.state == ActionState.FAILED:
                raise ActionFailed(f"task {ref.task_id}: {action.error}")
            # Skipped: closed by a person (or gone); the next claim makes this event create.
        return None

    # -- one action on one task --------------------------------------------------------

    def apply(
        self,
        event_id: str,
        rule: str,
        ref: TaskRef,
        action: str,
        changes: TaskChanges,
        lease: Lease | None,
    ) -> ActionRecord:
        """Apply ``changes`` to ``ref``'s task once; the row says how it ended."""
        record = self.store.get_or_new(event_id, rule, ref, action)
        if record.state in (ActionState.DONE, ActionState.SKIPPED, ActionState.FAILED):
            return record
        holder = f"{event_id} {rule}"
        self._lock(ref, holder, lease)
        try:
            return self._apply(record, ref, changes, lease)
        finally:
            unlock_task(self.engine, ref.delivery_id, holder)

    def _lock(self, ref: TaskRef, holder: str, lease: Lease | None) -> None:
        seconds = lease.seconds if lease is not None else LOCK_SECONDS
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not lock_task(self.engine, ref.delivery_id, holder, self.clock(), seconds):
            if time.monotonic() > deadline:
                raise WaitForTask(f"another event is changing task {ref.task_id}")
            time.sleep(0.05)

    def _apply(
        self, record: ActionRecord, ref: TaskRef, changes: TaskChanges, lease: Lease | None
    ) -> ActionRecord:
        event_id, rule = record.event_id, record.rule
        current = self._read(ref)
        if current is None:
            return self._gone(record, ref)
        status = int(current.get("status") or 0)
        marker = marker_for(event_id, rule)
        if record.body is not None and applied(record.body, current, marker):
            self._remember_status(ref, record.body)
            return self._end(record, ActionState.DONE)
        if status in CLOSED:  # completed or cancelled by a person
            set_task_status(self.engine, ref.delivery_id, status, self.clock())
            label = TaskStatus(status).label.lower()
            return self._end(record, ActionState.SKIPPED, f"left alone: {label} in iVvy")
        body = self._body(ref, current, changes, marker)
        self.store.update(
            record,
            self.clock(),
            lease=lease,
            state=ActionState.SENDING,
            body=body,
            status_before=status,
        )
        try:
            self.client.add_or_update_task(body)
        except IvvyError as exc:
            if exc.retryable:
                raise
            if exc.specific_code == TASK_NOT_FOUND:
                return self._gone(record, ref)
            return self._end(record, ActionState.FAILED, str(exc))
        self._remember_status(ref, body)
        return self._end(record, ActionState.DONE)

    def _gone(self, record: ActionRecord, ref: TaskRef) -> ActionRecord:
        """Deleted in iVvy: never selected again (update_open's key then makes a new task)."""
        set_task_status(self.engine, ref.delivery_id, TASK_GONE, self.clock())
        return self._end(record, ActionState.SKIPPED, "the task is no longer in iVvy")

    def _end(
        self, record: ActionRecord, state: ActionState, why: str | None = None
    ) -> ActionRecord:
        # Not waiting for the disk: lost, the row stays sending or pending and a re-run
        # reads the task again and finds the change made (or still to make).
        self.store.update(record, self.clock(), durable=False, state=state, error=why)
        return record

    def _remember_status(self, ref: TaskRef, body: dict[str, Any]) -> None:
        if "status" in body:
            set_task_status(self.engine, ref.delivery_id, int(body["status"]), self.clock())

    def _read(self, ref: TaskRef) -> dict[str, Any] | None:
        """The task as iVvy holds it now (an opportunity's tasks are listed under its venue)."""
        venue = ref.body.get("venueId") if "leadId" in ref.body else None
        for task in self.client.get_task_list(filter={"id": ref.task_id}, venue_id=venue):
            if int(task.get("id") or 0) == ref.task_id:
                return task
        return None

    def _body(
        self, ref: TaskRef, current: dict[str, Any], changes: TaskChanges, marker: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": ref.task_id}
        if "leadId" in ref.body and ref.body.get("venueId"):
            body["venueId"] = ref.body["venueId"]  # an opportunity's task: its venue
        if changes.status is not None:
            body["status"] = changes.status
        if changes.due is not None:
            body["endDatetime"] = to_ivvy_utc(changes.due)
        if changes.name:
            body["name"] = changes.name
        if changes.priority is not None:
            body["priority"] = changes.priority
        if changes.assignee is not None and changes.assignee.candidates:
            user = self.directory.user_id(self.client, changes.assignee.candidates[0])
            if user is None:
                raise OwnerUnavailable(
                    "the action's assignee is not a user in iVvy; fix the rule and replay"
                )
            body["assignedUserId"] = user
        if changes.description is not None or changes.append:
            body["description"] = new_description(ref, current, changes, marker)
        return validate_task_payload(body)
