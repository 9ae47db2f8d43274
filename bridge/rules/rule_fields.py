"""marshmallow fields for rule values: templates, conditions, due dates, statuses, assignees."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from bridge.rules.conditions import ConditionError, build_condition
from bridge.rules.rule import DueSpec
from bridge.rules.templates import Template, compile_template
from bridge.task_status import STATUS_IDS, TaskStatus

PRIORITIES = ("low", "medium", "high")


class TemplateField(fields.Field):
    """Text compiled as a sandboxed Jinja2 template (numbers are taken as text)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Template:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError('must be text (a template such as "{{ email }}")')
        try:
            return compile_template(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class ConditionField(fields.Field):
    """A condition tree (see :mod:`bridge.rules.conditions`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return build_condition(value)
        except ConditionError as exc:
            raise ValidationError(exc.messages) from exc


class DueField(fields.Field):
    """A due-date expression, optionally ``from {{ template }}``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> DueSpec:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                'must be a due-date expression such as "+1 business day at 09:00"'
            )
        try:
            return DueSpec.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class StatusField(fields.Field):
    """A task status by name (``Not Started`` ... ``Completed``) or number 0-4."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_IDS:
            return value
        key = str(value).strip().upper().replace(" ", "_")
        if key not in TaskStatus.__members__:
            names = ", ".join(status.label for status in TaskStatus)
            raise ValidationError(f"unknown status {value!r}; use one of {names}")
        return int(TaskStatus[key])


class AssigneeField(fields.Field):
    """A user id, an email or full name (or a template), or a list of them to rotate through."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[int | Template, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValidationError("name at least one user")
        out: list[int | Template] = []
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool) and item > 0:
                out.append(item)
            elif isinstance(item, str) and item.strip().isdigit() and int(item) > 0:
                out.append(int(item))
            elif isinstance(item, str) and item.strip():
                try:
                    out.append(compile_template(item.strip()))
                except ValueError as exc:
                    raise ValidationError(str(exc)) from exc
            else:
                raise ValidationError("each assignee is a user id, an email or a full name")
        return tuple(out)
