"""Conditions on an event's fields, each evaluation explained in words a person can read.

A condition is ``{field: path, <operator>: value}`` (operators in ``bridge.rules.operators``, plus
``ignore_case: true`` for the text ones), or ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``;
a plain list means ``all``.  Explanations never show emails or phone numbers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.rules.operators import OPERATORS, Verdict


class ConditionError(ValueError):
    """A condition in a rule is malformed; ``messages`` is nested by path, as marshmallow's."""

    def __init__(self, messages: dict[Any, Any] | list[str]) -> None:
        super().__init__(str(messages))
        self.messages = messages


class Condition(ABC):
    """Something that holds or not for an event's context."""

    @abstractmethod
    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        """Evaluate against :meth:`bridge.events.Event.context`."""

    @abstractmethod
    def describe(self) -> str:
        """The condition itself in words (for ``bridge check`` and the status pages)."""


@dataclass(frozen=True)
class All(Condition):
    """Holds when every part holds (and when there are none)."""

    parts: tuple[Condition, ...]

    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        verdicts = [part.evaluate(context) for part in self.parts]
        failed = [v for v in verdicts if not v.holds]
        chosen = failed or verdicts
        return Verdict(not failed, tuple(r for v in chosen for r in v.reasons))

    def describe(self) -> str:
        return "all of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class AnyOf(Condition):
    """Holds when at least one part holds."""

    parts: tuple[Condition, ...]

    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        verdicts = [part.evaluate(context) for part in self.parts]
        held = [v for v in verdicts if v.holds]
        if held:
            return Verdict(True, held[0].reasons)
        reasons = "; ".join(r for v in verdicts for r in v.reasons)
        return Verdict(False, (f"none of these held: {reasons}",))

    def describe(self) -> str:
        return "any of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not(Condition):
    """Holds when its part does not."""

    part: Condition

    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        inner = self.part.evaluate(context)
        reasons = "; ".join(inner.reasons)
        if inner.holds:
            return Verdict(False, (f"expected not: {reasons}",))
        return Verdict(True, inner.reasons)

    def describe(self) -> str:
        return f"not ({self.part.describe()})"


@dataclass(frozen=True)
class FieldCondition(Condition):
    """One operator applied to one field (a dotted path into the event's context)."""

    field: str
    operator: str
    expected: Any
    ignore_case: bool = False
    pattern: re.Pattern[str] | None = None  # ``matches`` only, compiled once

    # The operator's row in bridge.rules.operators says how to test and describe it.

    def describe(self) -> str:
        return OPERATORS[self.operator].describe(self)

    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        return OPERATORS[self.operator].evaluate(self, context)


def build_condition(spec: Any) -> Condition:
    """Build a condition from its YAML form; raise :class:`ConditionError` when malformed."""
    if isinstance(spec, list):
        return All(_build_parts(spec))
    if not isinstance(spec, Mapping):
        raise ConditionError(["a condition is a mapping such as {field: kind, equals: x}"])
    groups = [key for key in ("all", "any", "not") if key in spec]
    if groups:
        key = groups[0]
        if len(spec) != 1:
            raise ConditionError([f"'{key}' must stand alone in its condition"])
        if key == "not":
            try:
                return Not(build_condition(spec[key]))
            except ConditionError as exc:
                raise ConditionError({"not": exc.messages}) from exc
        if not isinstance(spec[key], list):
            raise ConditionError({key: ["must be a list of conditions"]})
        try:
            parts = _build_parts(spec[key])
        except ConditionError as exc:
            raise ConditionError({key: exc.messages}) from exc
        return All(parts) if key == "all" else AnyOf(parts)
    return _build_field_condition(spec)


def _build_parts(specs: Sequence[Any]) -> tuple[Condition, ...]:
    parts: list[Condition] = []
    errors: dict[Any, Any] = {}
    for index, item in enumerate(specs):
        try:
            parts.append(build_condition(item))
        except ConditionError as exc:
            errors[index] = exc.messages
    if errors:
        raise ConditionError(errors)
    return tuple(parts)


def _build_field_condition(spec: Mapping[str, Any]) -> FieldCondition:
    field = spec.get("field")
    if not isinstance(field, str) or not field:
        raise ConditionError({"field": ["a field path (such as answers.event_type) is required"]})
    unknown = sorted(set(spec) - {"field", "ignore_case", *OPERATORS})
    if unknown:
        known = ", ".join(OPERATORS)
        raise ConditionError({unknown[0]: [f"unknown operator; use one of {known}, all, any, not"]})
    ops = [key for key in OPERATORS if key in spec]
    if len(ops) != 1:
        raise ConditionError({"field": [f"{field}: give exactly one operator (found {len(ops)})"]})
    op, expected = ops[0], spec[ops[0]]
    ignore_case = bool(spec.get("ignore_case", False))
    if ignore_case and not OPERATORS[op].folds:
        raise ConditionError({"ignore_case": [f"does not apply to '{op}'"]})
    problem = OPERATORS[op].check(expected)
    if problem is not None:
        raise ConditionError({op: [problem]})
    pattern = None
    if op == "matches":  # compiled once, here, so that a bad expression is a config error
        try:
            pattern = re.compile(expected, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ConditionError({op: [f"invalid regular expression: {exc}"]}) from exc
    return FieldCondition(field, op, expected, ignore_case, pattern)
