"""Rules that act on earlier tasks: ``complete``, ``cancel`` or ``update`` instead of ``task``,
and a create rule's ``task.key`` and ``task.update_open``.

In YAML::

    - name: booking-cancelled
      on: {source: ivvy, subjects: [BookingUpdated, BookingDeleted]}
      cancel:
        tasks_of: booking-confirmed        # a rule name, or a list of them
        key: "booking-{{ data.id or body.bookingId }}"   # or no key: the rule's owner
        append: "Cancelled: the booking was cancelled."  # optional line for the description
    - name: enquiry-again
      on: {source: website}
      update:
        tasks_of: [website-enquiry]
        key: "{{ email }}"
        within_days: 7                     # only tasks made for events this recent
        due: "+1 business day at 09:00"    # and name, description, append, priority,
        priority: high                     # status, assignee: what to change

The tasks acted on are the open tasks that the named rules created (for any event) with the
same rendered key, or, without a key, for the same owner (lead or opportunity, contact or
company, as the rule's owner names it); with both, both must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from bridge.rules.calendar import BusinessCalendar
from bridge.rules.plan import ActionKind, AssigneePlan, OpenTaskPlan, TaskChanges
from bridge.rules.rule_fields import (
    PRIORITIES,
    AssigneeField,
    DueField,
    StatusField,
    TemplateField,
)
from bridge.rules.templates import Template, compile_template
from bridge.task_status import TaskStatus

ACTION_KEYS: tuple[ActionKind, ...] = ("complete", "cancel", "update")
# What complete and cancel set; update sets what the rule says.
ACTION_STATUS = {"complete": int(TaskStatus.COMPLETED), "cancel": int(TaskStatus.CANCELLED)}
_DAYS = validate.Range(min=1, max=3650, error="must be a whole number of days, 1 or more")
# The line update_open adds when the rule gives none.
DEFAULT_OPEN_APPEND = "Again: a new {{ source }} event on {{ received_at[:10] }}"

Renderer = Callable[[str, Template | None], str]


@dataclass(frozen=True)
class OpenTaskSpec:
    """``task.update_open``: the key's open task is updated instead of creating another."""

    append: Template
    within_days: int | None = None

    def render(self, render: Renderer) -> OpenTaskPlan:
        """The plan for one event."""
        return OpenTaskPlan(self.within_days, render("update_open append", self.append))


@dataclass(frozen=True)
class ActionSpec:
    """A ``complete``, ``cancel`` or ``update`` part of a rule, compiled."""

    action: ActionKind
    of_rules: tuple[str, ...]
    key: Template | None = None
    within_days: int | None = None
    due: Any = None  # DueSpec
    name: Template | None = None
    description: Template | None = None
    append: Template | None = None
    priority: str | None = None
    status: int | None = None
    assignees: tuple[int | Template, ...] = ()

    def describe(self) -> str:
        """In words, for ``bridge check`` and the status pages."""
        by = f"key {self.key.source}" if self.key is not None else "the rule's owner"
        return f"{self.action} the open tasks of {', '.join(self.of_rules)} by {by}"

    def changes(
        self,
        render: Renderer,
        context: Mapping[str, Any],
        *,
        now: datetime,
        calendar: BusinessCalendar,
        assignee: AssigneePlan | None,
    ) -> TaskChanges:
        """What each selected task gets for one event (DueExpressionError from the due)."""
        due = self.due.compute(context, now=now, calendar=calendar) if self.due else None

        def text(what: str, template: Template | None) -> str | None:
            return render(what, template) if template is not None else None

        return TaskChanges(
            status=ACTION_STATUS.get(self.action, self.status),
            due=due,
            name=text("name", self.name),
            description=text("description", self.description),
            append=text("append", self.append) or None,
            priority=self.priority,
            assignee=assignee,
        )


class _RuleNames(fields.Field):
    """One rule name or a list of them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise ValidationError("name the rules whose tasks this acts on (a name or a list)")
        return tuple(dict.fromkeys(i.strip() for i in items))


class ActionSchema(Schema):
    """``update:``; :class:`CompleteSchema` and :class:`CancelSchema` set the status only."""

    action: ActionKind = "update"

    tasks_of = _RuleNames(required=True)
    key = TemplateField(load_default=None)
    within_days = fields.Integer(strict=True, validate=_DAYS, load_default=None)
    append = TemplateField(load_default=None)
    # update only:
    due = DueField(load_default=None)
    name = TemplateField(load_default=None)
    description = TemplateField(load_default=None)
    priority = fields.String(
        load_default=None, validate=validate.OneOf(PRIORITIES, error="use low, medium or high")
    )
    status = StatusField(load_default=None)
    assignee = AssigneeField(load_default=())

    @validates_schema
    def _fits_the_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        action = self.action
        changes = ("due", "name", "description", "priority", "status", "assignee")
        given = [k for k in changes if data.get(k) not in (None, ())]
        if action != "update" and given:
            raise ValidationError(
                f"{action} sets the status only ({given[0]} belongs in an update)", given[0]
            )
        if action == "update" and not given and data.get("append") is None:
            raise ValidationError(
                "say what to change: due, name, description, append, priority, status or assignee"
            )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ActionSpec:
        return ActionSpec(
            action=self.action,
            of_rules=data["tasks_of"],
            key=data["key"],
            within_days=data["within_days"],
            due=data["due"],
            name=data["name"],
            description=data["description"],
            append=data["append"],
            priority=data["priority"],
            status=data["status"],
            assignees=data["assignee"],
        )


class UpdateOpenField(fields.Field):
    """``task.update_open``: true, or ``{within_days: 7, append: "..."}``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> OpenTaskSpec | None:
        if value is False:
            return None
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise ValidationError("true, or a mapping with within_days and append")
        unknown = sorted(set(value) - {"within_days", "append"})
        if unknown:
            raise ValidationError(f"unknown option {unknown[0]!r}; use within_days and append")
        days = value.get("within_days")
        if days is not None:
            _check_days(days)
        append = value.get("append", DEFAULT_OPEN_APPEND)
        if not isinstance(append, str):
            raise ValidationError('append: must be text (a template such as "{{ message }}")')
        try:
            return OpenTaskSpec(compile_template(append), days)
        except ValueError as exc:
            raise ValidationError(f"append: {exc}") from exc


def _check_days(days: Any) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise ValidationError("within_days: must be a whole number of days, 1 or more")


class CompleteSchema(ActionSchema):
    """``complete:`` the selected tasks (status 4, Completed)."""

    action: ActionKind = "complete"


class CancelSchema(ActionSchema):
    """``cancel:`` the selected tasks (status 3, Cancelled)."""

    action: ActionKind = "cancel"


ACTION_SCHEMAS: dict[ActionKind, type[ActionSchema]] = {
    "complete": CompleteSchema,
    "cancel": CancelSchema,
    "update": ActionSchema,
}
