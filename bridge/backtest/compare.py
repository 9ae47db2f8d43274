"""What actually happened to a stored event, rule by rule, and how a verdict differs from it.

The stored deliveries say it: a ``done`` row made its task, a ``failed`` row failed for
good, and a settled event without a row for a rule did not match it (or the rule did not
exist then).  An event whose job has not settled yet is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.backtest.verdicts import Verdict
from bridge.store.backtest_reads import StoredDelivery, StoredRun
from bridge.store.states import DeliveryState, EventState

ThenKind = Literal["task", "action", "error", "no_match", "pending"]
SETTLED = (EventState.DONE, EventState.NO_MATCH, EventState.FAILED, EventState.DEAD)


@dataclass(frozen=True)
class Then:
    """One rule's fate when the event ran: its task, its error, no match, or not settled."""

    kind: ThenKind
    task_id: int | None = None
    task_name: str | None = None
    due_utc: str | None = None
    error: str | None = None

    def words(self) -> str:
        """The fate in a few words, for a difference's sentence."""
        if self.kind == "task":
            return f"task {self.task_id} {self.task_name!r} was created"
        if self.kind == "action":
            return "it acted on earlier tasks"
        if self.kind == "error":
            return f"it failed: {self.error}"
        if self.kind == "no_match":
            return "it did not match"
        return "it has not settled yet"


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
    if delivery.state == DeliveryState.ACTED:  # an action, or update_open's update
        return Then("action", delivery.task_id)
    if delivery.state == DeliveryState.FAILED:
        return Then("error", error=delivery.error or "failed")
    if run.state == EventState.DEAD:  # the job gave up with this delivery on its way
        return Then("error", error=run.last_error or "the job gave up")
    return Then("pending")  # on its way to a task (a replay or a retry will settle it)


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
    if verdict.kind == "action":
        if then.kind == "action":
            return None  # which tasks it reached depends on what was open then
        return f"would {verdict.task_name}; then {then.words()}"
    if verdict.kind == "task":
        if then.kind == "task":
            return _task_changes(verdict, then)
        if then.kind == "action":
            return None  # update_open: the key had an open task then, which it updated
        return f"would create {verdict.task_name!r}; then {then.words()}"
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
