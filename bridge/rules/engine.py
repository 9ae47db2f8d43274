"""The rules engine: an event and the configured rules in, one RuleOutcome per rule out.

Every rule whose trigger and conditions hold produces a TaskPlan (one event can create
several tasks); a matching rule with ``stop: true`` ends matching, and the rules after
it are reported as not evaluated.  Pure: no clock, no HTTP.  The only outside question,
a venue's timezone, goes through :class:`Lookups`, which delivery implements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bridge.events import Event
from bridge.rules.calendar import BusinessCalendar
from bridge.rules.due import DueExpressionError
from bridge.rules.names import with_hints
from bridge.rules.owner_spec import OwnerError
from bridge.rules.plan import ActionPlan, AssigneePlan, RuleOutcome, TaskPlan
from bridge.rules.rule import Rule
from bridge.rules.task_schema import (
    TaskPayloadInvalid,
    build_task_payload,
    placeholder_owner,
    placeholder_user,
)
from bridge.rules.templates import Template, TemplateRenderError


class Lookups(Protocol):
    """What the engine may ask of iVvy (delivery answers through getVenueList)."""

    def venue_timezone(self, venue_id: int) -> str | None:
        """The venue's IANA timezone, or None when unknown."""


class PlanError(ValueError):
    """A matched rule cannot produce a valid task; the message is safe to show."""


def evaluate(
    event: Event,
    rules: Sequence[Rule],
    *,
    now: datetime,
    calendar: BusinessCalendar,
    lookups: Lookups | None = None,
) -> list[RuleOutcome]:
    """One outcome per rule, in order: matched or not, why, and the plan or an error."""
    context = event.context()
    calendars = _Calendars(calendar, lookups)
    outcomes: list[RuleOutcome] = []
    stopped_by: str | None = None
    for rule in rules:
        if stopped_by is not None:
            reason = f"not evaluated: rule {stopped_by} matched and stops matching"
            outcomes.append(RuleOutcome(rule.name, False, (reason,)))
            continue
        outcome = _evaluate_rule(rule, event, context, now=now, calendars=calendars)
        outcomes.append(outcome)
        if outcome.matched and rule.stop:
            stopped_by = rule.name
    return outcomes


def _evaluate_rule(
    rule: Rule,
    event: Event,
    context: Mapping[str, Any],
    *,
    now: datetime,
    calendars: _Calendars,
) -> RuleOutcome:
    """One rule's outcome for one event."""
    verdict = rule.trigger.evaluate(event.source, event.kind)
    if not verdict.holds:
        return RuleOutcome(rule.name, False, verdict.reasons)
    reasons = verdict.reasons
    if rule.when is not None:
        condition = rule.when.evaluate(context)
        reasons += condition.reasons
        if not condition.holds:
            return RuleOutcome(rule.name, False, reasons)
    try:
        calendar = calendars.for_rule(rule, context)
        if rule.action is not None:
            action = build_action(rule, context, now=now, calendar=calendar)
            return RuleOutcome(rule.name, True, reasons, action=action)
        plan = build_plan(rule, context, now=now, calendar=calendar)
    except (PlanError, OwnerError) as exc:
        return RuleOutcome(rule.name, True, reasons, error=str(exc))
    return RuleOutcome(rule.name, True, reasons, plan=plan)


def build_action(
    rule: Rule, context: Mapping[str, Any], *, now: datetime, calendar: BusinessCalendar
) -> ActionPlan:
    """Render the rule's action on earlier tasks for one event."""
    spec = rule.action
    assert spec is not None
    key = _render(rule, "key", spec.key, context) if spec.key is not None else None
    if spec.key is not None and not key:
        empty = f"the key {spec.key.source!r} rendered empty"
        raise PlanError(with_hints(empty, spec.key, context))
    owner = rule.owner.render(context, rule.name) if rule.owner is not None else None

    def render(what: str, template: Template | None) -> str:
        return _render(rule, what, template, context)

    try:
        changes = spec.changes(
            render,
            context,
            now=now,
            calendar=calendar,
            assignee=_assignee(rule, spec.assignees, context),
        )
    except (DueExpressionError, TemplateRenderError) as exc:
        raise PlanError(f"due date: {exc}") from exc
    return ActionPlan(
        rule=rule.name,
        action=spec.action,
        of_rules=spec.of_rules,
        changes=changes,
        key=key,
        owner=owner,
        within_days=spec.within_days,
    )


def build_plan(
    rule: Rule, context: Mapping[str, Any], *, now: datetime, calendar: BusinessCalendar
) -> TaskPlan:
    """Render the rule's task and owner for one event and check the task iVvy would get."""
    task, spec = rule.task, rule.owner
    assert task is not None and spec is not None, "a rule with a task has an owner"
    owner = spec.render(context, rule.name)
    name = _render(rule, "task name", task.name, context)
    if not name:
        empty = f"the task name {task.name.source!r} rendered empty"
        raise PlanError(with_hints(empty, task.name, context))
    try:
        due = task.due.compute(context, now=now, calendar=calendar)
    except (DueExpressionError, TemplateRenderError) as exc:
        message = f"due date {task.due.text!r}: {exc}"
        raise PlanError(with_hints(message, task.due.base, context)) from exc
    description = _render(rule, "task description", task.description, context)
    plan = TaskPlan(
        rule=rule.name,
        name=name,
        due=due,
        owner=owner,
        description=description,
        priority=task.priority,
        status=task.status,
        assignee=_assignee(rule, task.assignees, context),
        key=_key(rule, task.key, context),
        update_open=(
            task.update_open.render(lambda what, t: _render(rule, what, t, context) or "")
            if task.update_open is not None
            else None
        ),
    )
    try:
        build_task_payload(plan, placeholder_owner(owner), placeholder_user(plan))
    except TaskPayloadInvalid as exc:
        raise PlanError(f"{exc}") from exc
    return plan


def _render(rule: Rule, what: str, template: Template | None, context: Mapping[str, Any]) -> str:
    if template is None:
        return ""
    try:
        return template.render(context).strip()
    except TemplateRenderError as exc:
        raise PlanError(f"{what}: {exc}") from exc


def _key(rule: Rule, template: Template | None, context: Mapping[str, Any]) -> str | None:
    if template is None:
        return None
    key = _render(rule, "task key", template, context)
    if not key:
        empty = f"the task key {template.source!r} rendered empty"
        raise PlanError(with_hints(empty, template, context))
    return key


def _assignee(
    rule: Rule, assignees: tuple[int | Template, ...], context: Mapping[str, Any]
) -> AssigneePlan | None:
    """User ids as ints, emails and names as text; an assignee that renders empty is an error.

    (It used to be skipped, and the task went to nobody without a word.)
    """
    candidates: list[int | str] = []
    for item in assignees:
        if isinstance(item, int):
            candidates.append(item)
            continue
        text = _render(rule, "assignee", item, context)
        if not text:
            empty = f"the assignee {item.source!r} rendered empty"
            raise PlanError(with_hints(empty, item, context))
        if text.isdigit() and int(text) > 0:
            candidates.append(int(text))
        else:
            candidates.append(text)
    return AssigneePlan(tuple(candidates)) if candidates else None


class _Calendars:
    """The default calendar, or one in the rule's venue's timezone (same holidays and hours)."""

    def __init__(self, default: BusinessCalendar, lookups: Lookups | None) -> None:
        self.default = default
        self.lookups = lookups
        self._by_zone: dict[str, BusinessCalendar] = {default.tz_name: default}
        self._zones: dict[int, str | None] = {}  # asked once per venue per event

    def for_rule(self, rule: Rule, context: Mapping[str, Any]) -> BusinessCalendar:
        """The calendar for ``rule``'s venue when it names one and its timezone is known."""
        try:
            venue = rule.timezone_venue(context)  # rendered even without lookups, to catch errors
        except TemplateRenderError as exc:
            raise PlanError(f"venue: {exc}") from exc
        if venue is None or self.lookups is None:
            return self.default
        if venue not in self._zones:
            self._zones[venue] = self.lookups.venue_timezone(venue)
        zone = self._zones[venue]
        if not zone:
            return self.default
        if zone not in self._by_zone:
            self._by_zone[zone] = self._in_zone(zone)
        return self._by_zone[zone]

    def _in_zone(self, zone: str) -> BusinessCalendar:
        try:
            return self.default.in_zone(zone)
        except ValueError:
            return self.default  # a timezone name Python does not know: keep the default
