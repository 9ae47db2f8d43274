"""The operators of a field condition, one row each in :data:`OPERATORS`.

A row says what the operator's expected value must be (a problem in words, or None), how it
tests an event's context, how it reads in words, and whether ``ignore_case`` applies.  To add
an operator, write its functions here and add its row; nothing else needs to change.
Explanations never show emails or phone numbers (``show`` masks them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.rules.values import (
    MISSING,
    comparable,
    is_set,
    resolve,
    same_value,
    show,
    show_list,
)


@dataclass(frozen=True)
class Verdict:
    """Whether a condition holds, and why."""

    holds: bool
    reasons: tuple[str, ...]


class Tested(Protocol):
    """What an operator reads of its condition (``bridge.rules.conditions.FieldCondition``)."""

    @property
    def field(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def expected(self) -> Any: ...
    @property
    def ignore_case(self) -> bool: ...
    @property
    def pattern(self) -> re.Pattern[str] | None: ...


Evaluate = Callable[[Tested, Mapping[str, Any]], Verdict]
Compare = Callable[[Tested, Any], Verdict]


def _on_value(compare: Compare, *, missing_holds: bool = False) -> Evaluate:
    """Evaluate on the field's value; a missing (or null) field holds only if ``missing_holds``."""

    def evaluate(c: Tested, context: Mapping[str, Any]) -> Verdict:
        value = resolve(context, c.field)
        if value is MISSING or value is None:
            return Verdict(missing_holds, (f"{c.field} is missing",))
        return compare(c, value)

    return evaluate


def _equals(c: Tested, value: Any) -> Verdict:
    shown = show(c.field, value)
    if same_value(value, c.expected, c.ignore_case):
        return Verdict(True, (f"{c.field} is {shown}",))
    return Verdict(False, (f"{c.field} is {shown}, not {show(c.field, c.expected)}",))


def _not_equals(c: Tested, value: Any) -> Verdict:
    equal = _equals(c, value)
    return Verdict(not equal.holds, equal.reasons)


def _in(c: Tested, value: Any) -> Verdict:
    values = value if isinstance(value, list) else [value]
    hit = any(same_value(v, e, c.ignore_case) for v in values for e in c.expected)
    word = "in" if hit else "not in"
    shown, listed = show(c.field, value), show_list(c.field, c.expected)
    return Verdict(hit, (f"{c.field} is {shown}, {word} {listed}",))


def _contains(c: Tested, value: Any) -> Verdict:
    expected, fold = c.expected, c.ignore_case
    if isinstance(value, list):
        hit = any(same_value(v, expected, fold) for v in value)
    elif isinstance(value, Mapping):
        hit = any(same_value(k, expected, fold) for k in value)
    else:
        text, needle = _text(value), _text(expected)
        hit = needle.casefold() in text.casefold() if fold else needle in text
    word = "contains" if hit else "does not contain"
    return Verdict(hit, (f"{c.field} {word} {show(c.field, expected)}",))


def _matches(c: Tested, value: Any) -> Verdict:
    assert c.pattern is not None
    hit = c.pattern.search(_text(value)) is not None
    word = "matches" if hit else "does not match"
    return Verdict(hit, (f"{c.field} {word} /{c.pattern.pattern}/",))


def _order(words: str, test: Callable[[Any, Any], bool]) -> Compare:
    def compare(c: Tested, value: Any) -> Verdict:
        shown, expected = show(c.field, value), show(c.field, c.expected)
        pair = comparable(value, c.expected)
        if pair is None:
            return Verdict(False, (f"{c.field} is {shown}, not comparable with {expected}",))
        hit = bool(test(*pair))
        word = words if hit else f"not {words}"
        return Verdict(hit, (f"{c.field} is {shown}, {word} {expected}",))

    return compare


def _exists(c: Tested, context: Mapping[str, Any]) -> Verdict:
    present = is_set(resolve(context, c.field))
    word = "set" if present else "not set"
    return Verdict(present == bool(c.expected), (f"{c.field} is {word}",))


def _change(c: Tested, context: Mapping[str, Any]) -> tuple[bool, Any, Any, str]:
    """Whether the field changed (``data`` against ``previousData``), before, now, and why."""
    path = c.field.removeprefix("data.")
    now = resolve(context.get("data") or {}, path)
    before = resolve(context.get("previous_data") or {}, path)
    f = c.field
    if before is MISSING:
        return False, before, now, f"{f} did not change (previousData has no {path})"
    if same_value(now, before, False):
        return False, before, now, f"{f} is unchanged ({show(f, now)})"
    return True, before, now, f"{f} changed from {show(f, before)} to {show(f, now)}"


def _changed(c: Tested, context: Mapping[str, Any]) -> Verdict:
    changed, _, _, why = _change(c, context)
    return Verdict(changed == bool(c.expected), (why,))


def _changed_side(direction: str) -> Evaluate:
    def evaluate(c: Tested, context: Mapping[str, Any]) -> Verdict:
        changed, before, now, why = _change(c, context)
        if not changed:
            return Verdict(False, (why,))
        side = before if direction == "from" else now
        if same_value(side, c.expected, c.ignore_case):
            return Verdict(True, (why,))
        return Verdict(False, (f"{why}, not {direction} {show(c.field, c.expected)}",))

    return evaluate


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _describe(c: Tested) -> str:
    return f"{c.field} {c.operator} {show(c.field, c.expected)}"


def _describe_in(c: Tested) -> str:
    return f"{c.field} in {show_list(c.field, c.expected)}"


def _describe_flag(verb: str) -> Callable[[Tested], str]:
    def describe(c: Tested) -> str:
        return f"{c.field} {verb}" if c.expected else f"{c.field} {verb}: no"

    return describe


def _any_value(expected: Any) -> str | None:
    return None


def _a_list(expected: Any) -> str | None:
    return None if isinstance(expected, list) else "must be a list of values"


def _a_flag(expected: Any) -> str | None:
    return None if isinstance(expected, bool) else "must be true or false"


def _orderable(expected: Any) -> str | None:
    if expected is None or isinstance(expected, (bool, list, dict)):
        return "must be a number or a date"
    return None


def _a_pattern(expected: Any) -> str | None:
    return None if isinstance(expected, str) else "must be a regular expression (a string)"


@dataclass(frozen=True)
class Operator:
    """One operator: the problem with an expected value (None if fine), its test, its words."""

    evaluate: Evaluate
    check: Callable[[Any], str | None] = _any_value
    describe: Callable[[Tested], str] = _describe
    folds: bool = False  # ``ignore_case`` applies to it


OPERATORS: dict[str, Operator] = {
    "equals": Operator(_on_value(_equals), folds=True),
    "not_equals": Operator(_on_value(_not_equals, missing_holds=True), folds=True),
    "in": Operator(_on_value(_in), _a_list, _describe_in, folds=True),
    "contains": Operator(_on_value(_contains), folds=True),
    "matches": Operator(_on_value(_matches), _a_pattern, folds=True),
    "exists": Operator(_exists, _a_flag, _describe_flag("is set")),
    "gt": Operator(_on_value(_order("greater than", lambda a, b: a > b)), _orderable),
    "gte": Operator(_on_value(_order("at least", lambda a, b: a >= b)), _orderable),
    "lt": Operator(_on_value(_order("less than", lambda a, b: a < b)), _orderable),
    "lte": Operator(_on_value(_order("at most", lambda a, b: a <= b)), _orderable),
    "changed": Operator(_changed, _a_flag, _describe_flag("changed")),
    "changed_from": Operator(_changed_side("from"), folds=True),
    "changed_to": Operator(_changed_side("to"), folds=True),
}
