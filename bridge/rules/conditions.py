"""Conditions on an event's fields, each evaluation explained in words a person can read.

A condition is ``{field: path, <operator>: value}`` (operators in :data:`OPERATORS`, plus
``ignore_case: true`` for the text ones), or ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``;
a plain list means ``all``.  Explanations never show emails or phone numbers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.rules.values import (
    MISSING,
    comparable,
    is_set,
    resolve,
    same_value,
    show,
    show_list,
)

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "contains",
    "matches",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "changed",
    "changed_from",
    "changed_to",
)
_TEXT_OPERATORS = {"equals", "not_equals", "in", "contains", "matches"}
_ORDER = {
    "gt": ("greater than", lambda a, b: a > b),
    "gte": ("at least", lambda a, b: a >= b),
    "lt": ("less than", lambda a, b: a < b),
    "lte": ("at most", lambda a, b: a <= b),
}


class ConditionError(ValueError):
    """A condition in a rule is malformed; ``messages`` is nested by path, as marshmallow's."""

    def __init__(self, messages: dict[Any, Any] | list[str]) -> None:
        super().__init__(str(messages))
        self.messages = messages


@dataclass(frozen=True)
class Verdict:
    """Whether a condition holds, and why."""

    holds: bool
    reasons: tuple[str, ...]


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
    pattern: re.Pattern[str] | None = None

    def describe(self) -> str:
        expected = self.expected
        if self.operator == "in":
            return f"{self.field} in {show_list(self.field, expected)}"
        if self.operator in ("exists", "changed"):
            verb = "is set" if self.operator == "exists" else "changed"
            return f"{self.field} {verb}" if expected else f"{self.field} {verb}: no"
        return f"{self.field} {self.operator} {show(self.field, expected)}"

    def evaluate(self, context: Mapping[str, Any]) -> Verdict:
        if self.operator.startswith("changed"):
            return self._changed(context)
        value = resolve(context, self.field)
        if self.operator == "exists":
            present = is_set(value)
            word = "set" if present else "not set"
            return Verdict(present == bool(self.expected), (f"{self.field} is {word}",))
        if value is MISSING or value is None:
            holds = self.operator == "not_equals"
            return Verdict(holds, (f"{self.field} is missing",))
        return self._compare(value)

    def _compare(self, value: Any) -> Verdict:
        f, op, expected, fold = self.field, self.operator, self.expected, self.ignore_case
        shown = show(f, value)
        if op in ("equals", "not_equals"):
            equal = same_value(value, expected, fold)
            holds = equal if op == "equals" else not equal
            if equal:
                return Verdict(holds, (f"{f} is {shown}",))
            return Verdict(holds, (f"{f} is {shown}, not {show(f, expected)}",))
        if op == "in":
            values = value if isinstance(value, list) else [value]
            hit = any(same_value(v, e, fold) for v in values for e in expected)
            word = "in" if hit else "not in"
            return Verdict(hit, (f"{f} is {shown}, {word} {show_list(f, expected)}",))
        if op == "contains":
            hit = _contains(value, expected, fold)
            word = "contains" if hit else "does not contain"
            return Verdict(hit, (f"{f} {word} {show(f, expected)}",))
        if op == "matches":
            assert self.pattern is not None
            hit = self.pattern.search(_text(value)) is not None
            word = "matches" if hit else "does not match"
            return Verdict(hit, (f"{f} {word} /{self.pattern.pattern}/",))
        words, test = _ORDER[op]
        pair = comparable(value, expected)
        if pair is None:
            return Verdict(False, (f"{f} is {shown}, not comparable with {show(f, expected)}",))
        hit = bool(test(*pair))
        word = words if hit else f"not {words}"
        return Verdict(hit, (f"{f} is {shown}, {word} {show(f, expected)}",))

    def _changed(self, context: Mapping[str, Any]) -> Verdict:
        path = self.field.removeprefix("data.")
        now = resolve(context.get("data") or {}, path)
        before = resolve(context.get("previous_data") or {}, path)
        f = self.field
        if before is MISSING:
            changed = False
            why = f"{f} did not change (previousData has no {path})"
        else:
            changed = not same_value(now, before, False)
            if changed:
                why = f"{f} changed from {show(f, before)} to {show(f, now)}"
            else:
                why = f"{f} is unchanged ({show(f, now)})"
        if self.operator == "changed":
            return Verdict(changed == bool(self.expected), (why,))
        if not changed:
            return Verdict(False, (why,))
        side = before if self.operator == "changed_from" else now
        hit = same_value(side, self.expected, self.ignore_case)
        if hit:
            return Verdict(True, (why,))
        direction = "from" if self.operator == "changed_from" else "to"
        return Verdict(False, (f"{why}, not {direction} {show(f, self.expected)}",))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _contains(value: Any, expected: Any, fold: bool) -> bool:
    if isinstance(value, list):
        return any(same_value(v, expected, fold) for v in value)
    if isinstance(value, Mapping):
        return any(same_value(k, expected, fold) for k in value)
    text, needle = _text(value), _text(expected)
    return needle.casefold() in text.casefold() if fold else needle in text


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
    if ignore_case and op not in _TEXT_OPERATORS | {"changed_from", "changed_to"}:
        raise ConditionError({"ignore_case": [f"does not apply to '{op}'"]})
    pattern = None
    if op == "in" and not isinstance(expected, list):
        raise ConditionError({op: ["must be a list of values"]})
    if op in ("exists", "changed") and not isinstance(expected, bool):
        raise ConditionError({op: ["must be true or false"]})
    if op in _ORDER and (expected is None or isinstance(expected, (bool, list, dict))):
        raise ConditionError({op: ["must be a number or a date"]})
    if op == "matches":
        if not isinstance(expected, str):
            raise ConditionError({op: ["must be a regular expression (a string)"]})
        try:
            pattern = re.compile(expected, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ConditionError({op: [f"invalid regular expression: {exc}"]}) from exc
    return FieldCondition(field, op, expected, ignore_case, pattern)
