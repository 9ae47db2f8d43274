"""Creating a delivery's task exactly once, even when iVvy's answer is lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bridge.delivery.directory import Directory
from bridge.delivery.owner_records import OwnerResolver, OwnerUnavailable
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError
from bridge.rules.plan import TaskPlan
from bridge.rules.task_schema import ResolvedOwner, build_task_payload
from bridge.store.deliveries import DeliveryRecord, DeliveryStore
from bridge.store.queue import Lease
from bridge.store.rotations import next_rotation
from bridge.store.states import DeliveryState
from bridge.store.task_actions import stored_key


class TaskCreator:
    """Resolves a plan's owner and assignee, then creates its task once.

    Exactly-once rests on two writes around the one call that is not
    idempotent: the delivery is marked ``creating_task`` (with the body and
    its marker) before ``addOrUpdateTask`` is sent, and ``done`` with the
    task id after (in the transaction that settles the job).  A delivery
    that has a body stored may have been sent before (the answer lost, the
    worker killed, a replay after a failure), so it first lists the owner's
    tasks and looks for the marker; only when it is absent is the task created.
    The ``creating_task`` write also renews the job's lease, so a worker that
    lost its job sends nothing.

    The search is skipped in one case: the delivery is ``task_unsent``, written
    when the last send certainly never reached iVvy (no connection could be
    made, or iVvy refused it: 429, a stale signature) and nothing before it can
    have created the task (it was the first send, or it followed a search that
    found nothing).  Without this, every retry through an iVvy outage would
    list all of the owner's tasks again once iVvy is back.
    """

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
        self.store = DeliveryStore(engine)
        self.owners = OwnerResolver(client, self.store, clock)

    def deliver(self, record: DeliveryRecord, plan: TaskPlan, lease: Lease | None = None) -> int:
        """The id of the delivery's task, created now unless an earlier attempt did.

        Raises OwnerUnavailable, TaskPayloadInvalid, IvvyError or LeaseLost.  The
        caller records ``done`` (see ``DeliveryStore.done``); until it does, a
        later run finds the task again through its marker.
        """
        owner = self.owners.resolve(plan.owner, record, lease)
        if record.task and record.state != DeliveryState.TASK_UNSENT:
            found = self._find_task(record.task, record.marker)
            if found is not None:
                return found
        if record.state in (DeliveryState.CREATING_TASK, DeliveryState.TASK_UNSENT) and record.task:
            body = record.task  # the same task as before: same assignee, same due time
        else:
            body = self._body(record, plan, owner)
        self.store.update(
            record,
            self.clock(),
            lease=lease,
            state=DeliveryState.CREATING_TASK,
            task=body,
            owner_kind=owner.kind,
            owner_id=owner.id,
            venue_id=owner.venue_id,
            task_key=stored_key(plan.key) if plan.key is not None else None,
        )
        try:
            return self.client.add_or_update_task(body)
        except IvvyError as exc:
            if exc.retryable and not exc.maybe_committed:
                # Fenced like creating_task: a worker that lost the job must not
                # overwrite what the job's new owner wrote.  Not waiting for the
                # disk is safe: lost, the row stays creating_task and is searched.
                self.store.update(
                    record,
                    self.clock(),
                    lease=lease,
                    durable=False,
                    state=DeliveryState.TASK_UNSENT,
                )
            raise

    def _body(self, record: DeliveryRecord, plan: TaskPlan, owner: ResolvedOwner) -> dict[str, Any]:
        described = replace(plan, description=f"{plan.description}\n\n{record.marker}".strip())
        return build_task_payload(described, owner, self._assignee(plan))

    def _assignee(self, plan: TaskPlan) -> int | None:
        if plan.assignee is None or not plan.assignee.candidates:
            return None
        candidates = plan.assignee.candidates
        index = (
            next_rotation(self.engine, plan.rule) % len(candidates) if len(candidates) > 1 else 0
        )
        user_id = self.directory.user_id(self.client, candidates[index])
        if user_id is None:
            raise OwnerUnavailable(
                f"assignee number {index + 1} of the rule is not a user in iVvy; "
                "fix the rule's assignee and replay"
            )
        return user_id

    def _find_task(self, body: dict[str, Any], marker: str) -> int | None:
        """The task an earlier attempt created with this body's owner and marker, if any."""
        # One owner field: a body with a contact and a company makes a company task (iVvy
        # keeps the contact as its companyContactId), so the company is what to filter on.
        key: str | None = next((k for k in ("leadId", "companyId", "contactId") if k in body), None)
        owner: dict[str, Any] | None = {key: body[key]} if key is not None else None
        # An opportunity's tasks are listed under its venue (getTaskList's venueId).
        venue_id = body.get("venueId") if key == "leadId" else None
        for task in self.client.get_task_list(filter=owner, venue_id=venue_id):
            if marker in str(task.get("description") or ""):
                return int(task["id"])
        return None
