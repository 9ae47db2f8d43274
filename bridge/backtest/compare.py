"""What actually happened to a stored event, rule by rule, and how a verdict differs from it.

The stored deliveries say it: a ``done`` row made its task, an ``acted`` row acted on
earlier tasks (its ``task_actions`` rows say which and how; with a ``task_id``, an
``update_open`` task updated its key's open task instead of creating one), a ``failed`` row
failed for good, and a settled event without a row for a rule did not match it (or the rule
did not exist then).  An event whose job has not settled yet is not compared.

Which tasks are open is not known offline: an action is compared by its kind (complete,
cancel, update), not by the tasks it would find, and an ``update_open`` task whose key then
had an open task is taken to update it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.backtest.verdicts import Verdict
from bridge.store.backtest_reads import StoredDelivery, StoredRun
from bridge.store.states import ActionState, DeliveryState, EventState
from bridge.store.task_actions import stored_key

ThenKind = Literal["task", "action", "error", "no_match", "pending"]
PAST = {"complete": "completed", "cancel": "cancelled", "update": "updated"}
SETTLED = (EventState.DONE, EventState.NO_MATCH, EventState.FAILED, EventState.DEAD)


@dataclass(frozen=True)
class Then:
    """One rule's fate when the event ran: its task, its actions on earlier tasks, its
    error, no match, or not settled."""

    kind: ThenKind
    task_id: int | None = None
    task_name: str | None = None
    due_utc: str | None = None
    error: str | None = None
    action: str | None = None  # complete | cancel | update; None: it found no open task
    task_ids: tuple[int, ...] = ()  # the tasks the action changed
    left_alone: int = 0  # tasks it found closed by a person, or gone from iVvy
    key: str | None = None  # an update_open task's key (as stored)
    updated_open: bool = False  # an update_open task that updated its key's open task

    def words(self) -> str:
        """The fate in a few words, for a difference's sentence."""
        if self.kind == "task":
            return f"task {self.task_id} {self.task_name!r} was created"
        if self.kind == "action":
            return self._action_words()
        if self.kind == "error":
            return f"it failed: {self.error}"
        if self.kind == "no_match":
            return "it did not match"
        return "it has not settled yet"

    def _action_words(self) -> str:
        if self.updated_open:
            return f"it updated task {self.task_id} (its key's open task) instead of creating one"
        if self.action is None or not (self.task_ids or self.left_alone):
            return "it found no open task to act on"
        tasks = ", ".join(str(t) for t in self.task_ids)
        said = f"it {PAST[self.action]} task{'s' if len(self.task_ids) != 1 else ''} {tasks}"
        if not self.task_ids:
            said = f"it {PAST[self.action]} no task"
        if self.left_alone:
            said += f" ({self.left_alone} left alone: closed by a person, or gone)"
        return said


def then_for(run: StoredRun, rule: str) -> Then:
    """What happened to ``rule`` on this stored event."""
    delivery = run.deliveries.get(rule)
    settled = run.state in SETTLED
    if delivery is None:
        return Then("no_match") if settled else Then("pending")
    return _from_delivery(delivery, run)


def _from_delivery(delivery: StoredDelivery, run: StoredRun) -> Then:
    task = delivery.task or {}
    name = task.get("name") if isinstance(task.get("name"), str) else None
    due = task.get("endDatetime") if isinstance(task.get("endDatetime"), str) else None
    if delivery.state == DeliveryState.DONE:
        return Then("task", delivery.task_id, name, due)
    if delivery.state == DeliveryState.ACTED:
        return _acted(delivery)
    if delivery.state == DeliveryState.FAILED:
        return Then("error", error=delivery.error or "failed")
    if run.state == EventState.DEAD:  # the job gave up with this delivery on its way
        return Then("error", error=run.last_error or "the job gave up")
    return Then("pending")  # on its way to a task (a replay or a retry will settle it)


def _acted(delivery: StoredDelivery) -> Then:
    if delivery.task_id is not None:  # update_open: the key's open task, updated
        return Then(
            "action", delivery.task_id, action="update", task_ids=(delivery.task_id,),
            key=delivery.task_key, updated_open=True,
        )  # fmt: skip
    done = tuple(a.task_id for a in delivery.actions if a.state == ActionState.DONE)
    alone = sum(1 for a in delivery.actions if a.state == ActionState.SKIPPED)
    kind = delivery.actions[0].action if delivery.actions else None
    return Then("action", action=kind, task_ids=done, left_alone=alone)


def updates_open_task(verdict: Verdict, then: Then) -> bool:
    """Whether an ``update_open`` task verdict updates its key's open task, as it did then.

    Offline, the key's open task is known only from the past: it is taken to be there again
    when the event updated it then under the same key.
    """
    return (
        verdict.kind == "task"
        and verdict.update_open
        and then.updated_open
        and verdict.key is not None
        and stored_key(verdict.key) == then.key
    )


def action_words(verdict: Verdict) -> str:
    """``cancel the open tasks of booking-confirmed with key 'booking-7'``."""
    said = f"{verdict.action} the open tasks of {', '.join(verdict.tasks_of)}"
    return said + (f" with key {verdict.key!r}" if verdict.key is not None else "")


def difference(verdict: Verdict | None, then: Then) -> str | None:
    """How the verdict differs from what happened, in one sentence; None when it does not.

    ``verdict`` is None for a rule that made a task or failed then but is not in the config.
    """
    if then.kind == "pending":
        return None
    if verdict is None:
        if then.kind == "no_match":
            return None
        return f"not in this config; then {then.words()}"
    if verdict.kind == "task":
        if then.kind == "task":
            return _task_changes(verdict, then)
        if updates_open_task(verdict, then):
            return None
        return f"would create {verdict.task_name!r}; then {then.words()}"
    if verdict.kind == "action":
        if then.kind == "action" and not then.updated_open:
            if then.action in (None, verdict.action):
                return None  # same kind; which tasks are open is not known offline
            return f"would {action_words(verdict)} instead; then {then.words()}"
        return f"would {action_words(verdict)}; then {then.words()}"
    if verdict.kind == "error":
        if then.kind == "error" and _same_error(then.error, verdict.error, verdict.rule):
            return None
        return f"would fail: {verdict.error}; then {then.words()}"
    if then.kind == "no_match":
        return None
    return f"would not match; then {then.words()}"


def _same_error(then: str | None, now: str | None, rule: str) -> bool:
    # Errors stored by earlier versions began with "rule <name>: "; the words after it count.
    prefix = f"rule {rule}: "
    return (then or "").removeprefix(prefix) == (now or "").removeprefix(prefix)


def _task_changes(verdict: Verdict, then: Then) -> str | None:
    changes = []
    if then.task_name is not None and then.task_name != verdict.task_name:
        changes.append(f"name {then.task_name!r} then, {verdict.task_name!r} now")
    if then.due_utc is not None and then.due_utc != verdict.due_utc:
        changes.append(f"due {then.due_utc} UTC then, {verdict.due_utc} UTC now")
    if not changes:
        return None
    return f"task {then.task_id} would differ: " + "; ".join(changes)
