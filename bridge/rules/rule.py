"""A loaded rule: which events it is for, its conditions, its owner and its task, compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bridge.rules.calendar import BusinessCalendar
from bridge.rules.conditions import Condition
from bridge.rules.due import DueExpression, compute_due, parse_due
from bridge.rules.operators import Verdict
from bridge.rules.owner_spec import OwnerSpec
from bridge.rules.templates import Template, compile_template

if TYPE_CHECKING:
    from bridge.rules.actions import ActionSpec, OpenTaskSpec


@dataclass(frozen=True)
class Trigger:
    """The ``on`` part: sources and kinds (iVvy subjects) the rule listens to; empty means any."""

    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def evaluate(self, source: str, kind: str) -> Verdict:
        """Whether an event from ``source`` of ``kind`` is for this rule, and why."""
        reasons: list[str] = []
        if self.sources:
            if source not in self.sources:
                return Verdict(False, (f"source is '{source}', not {_one_of(self.sources)}",))
            reasons.append(f"source is '{source}'")
        if self.kinds:
            if kind not in self.kinds:
                return Verdict(False, (f"kind is '{kind}', not {_one_of(self.kinds)}",))
            reasons.append(f"kind is '{kind}'")
        return Verdict(True, tuple(reasons))


def _one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return f"'{values[0]}'"
    return "one of [" + ", ".join(values) + "]"


@dataclass(frozen=True)
class DueSpec:
    """A parsed due-date expression, with its ``from`` value compiled as a template."""

    expression: DueExpression
    base: Template | None = None

    @property
    def text(self) -> str:
        """The expression as written in the rule."""
        return self.expression.text

    @classmethod
    def parse(cls, text: str) -> DueSpec:
        """Parse ``text``; ``ValueError`` (DueExpressionError) with a readable message when bad."""
        expression = parse_due(text)
        base = compile_template(expression.base) if expression.base is not None else None
        return cls(expression, base)

    def compute(
        self, context: Mapping[str, Any], *, now: datetime, calendar: BusinessCalendar
    ) -> datetime:
        """The aware due moment for one event; DueExpressionError when its base is no date."""
        base = self.base.render(context) if self.base is not None else None
        return compute_due(self.expression, now=now, calendar=calendar, base=base)


@dataclass(frozen=True)
class TaskSpec:
    """The ``task`` part of a rule, compiled."""

    name: Template
    due: DueSpec
    description: Template | None = None
    priority: str | None = None
    status: int | None = None
    # user ids, emails or full names, or templates rendering one; several rotate
    assignees: tuple[int | Template, ...] = ()
    key: Template | None = None  # the correlation key later rules find the task by
    update_open: OpenTaskSpec | None = None  # the key's open task is updated instead


@dataclass(frozen=True)
class Rule:
    """One rule from the config file, loaded by :class:`bridge.rules.schema.RuleSchema`."""

    name: str
    trigger: Trigger
    task: TaskSpec | None  # None for a rule that acts on earlier tasks (``action``)
    owner: OwnerSpec | None  # None only for an action that selects by key alone
    when: Condition | None = None
    venue: Template | None = None
    stop: bool = False
    description: str | None = None
    action: ActionSpec | None = None  # complete, cancel or update earlier tasks

    def timezone_venue(self, context: Mapping[str, Any]) -> int | None:
        """The venue whose timezone the due date uses: ``venue``, else the opportunity's."""
        template = self.venue or (self.owner.venue if self.owner is not None else None)
        if template is None:
            return None
        text = template.render(context).strip()
        return int(text) if text.isdigit() and int(text) > 0 else None
