"""Paging and filtering for the sandbox's list actions, shaped like iVvy's collections.

Choices where iVvy documents nothing:

* String comparisons are case-insensitive (``str.casefold``), for exact matches and for every
  operator; a trailing `` UTC`` on timestamps is ignored, so ``2024-01-02 09:00:00`` equals
  ``2024-01-02 09:00:00 UTC``. When either side is a number the other side is read as a number
  (numeric string ids are coerced); otherwise both are compared as text.
* A filter on a field a record lacks treats the value as null.
* A field holding a list (e.g. a contact's ``companies``) matches when any item matches.
* An unknown ``__OPERATOR`` suffix, a ``filter`` that is not an object, a ``perPage`` that is not a
  whole number > 0 or a ``start`` that is not a whole number >= 0 answer 400/23016.
* ``perPage`` defaults to 20 and is silently capped at 100; ``meta.perPage`` reports the value used.
* ``fromModifiedDate`` / ``toModifiedDate`` filter ``modifiedDate`` (inclusive), as iVvy documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridge.ivvy.sandbox.body_fields import coerce_int
from bridge.ivvy.sandbox.errors import not_valid

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
NULL_VALUE = "__ISNULL__"
OPERATORS = ("CONTAINS", "NOTCONTAINS", "BEGINS", "ENDS", "LESSTHAN", "GREATERTHAN", "NOT", "EMPTY")

Record = Mapping[str, Any]
Condition = Callable[[Record], bool]
SpecialFilter = Callable[[Record, Any], bool]


def page_of(
    records: Sequence[Record],
    body: Mapping[str, Any],
    *,
    special: Mapping[str, SpecialFilter] | None = None,
    max_per_page: int = MAX_PER_PAGE,
) -> dict[str, Any]:
    """``{"meta": {...}, "results": [...]}`` for the records matching the body's filter and page."""
    conditions = parse_filter(body.get("filter"), special or {})
    per_page = _paging_number(body, "perPage", DEFAULT_PER_PAGE, minimum=1)
    per_page = min(per_page, max_per_page)
    start = _paging_number(body, "start", 0, minimum=0)
    matching = [record for record in records if all(test(record) for test in conditions)]
    page = matching[start : start + per_page]
    meta = {"totalResults": len(matching), "start": start, "perPage": per_page, "count": len(page)}
    return {"meta": meta, "results": list(page)}


def _paging_number(body: Mapping[str, Any], name: str, default: int, *, minimum: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    number = coerce_int(value)
    if number is None or number < minimum:
        raise not_valid(name, f"Value must be a whole number of at least {minimum}")
    return number


def parse_filter(value: Any, special: Mapping[str, SpecialFilter]) -> list[Condition]:
    """One predicate per filter entry; 400/23016 for a malformed filter."""
    if value is None or value == []:
        return []
    if not isinstance(value, Mapping):
        raise not_valid("filter", "Value must be an object")
    conditions: list[Condition] = []
    for key, wanted in value.items():
        conditions.append(_condition(str(key), wanted, special))
    return conditions


def _condition(key: str, wanted: Any, special: Mapping[str, SpecialFilter]) -> Condition:
    if key in special:
        test = special[key]
        return lambda record: test(record, wanted)
    if key == "fromModifiedDate":
        return lambda record: _ordered(record.get("modifiedDate"), wanted, at_least=True)
    if key == "toModifiedDate":
        return lambda record: _ordered(record.get("modifiedDate"), wanted, at_least=False)
    field, separator, operator = key.rpartition("__")
    if not separator or not field:
        return lambda record: matches(record.get(key), "", wanted)
    if operator.upper() not in OPERATORS:
        raise not_valid("filter", f"Unknown filter operator __{operator}")
    return lambda record: matches(record.get(field), operator.upper(), wanted)


def matches(actual: Any, operator: str, wanted: Any) -> bool:
    """Whether a record's value satisfies ``field__OPERATOR: wanted`` ("" = exact match)."""
    if isinstance(actual, list) and operator not in ("EMPTY", "NOT", "NOTCONTAINS"):
        return any(matches(item, operator, wanted) for item in actual)
    if operator == "EMPTY":
        empty = actual is None or actual == "" or actual == []
        return empty == _truthy(wanted)
    if operator == "NOT":
        return not matches(actual, "", wanted)
    if operator == "NOTCONTAINS":
        return not matches(actual, "CONTAINS", wanted)
    if wanted == NULL_VALUE or wanted is None:
        return actual is None
    if actual is None:
        return False
    if operator == "":
        left, right = _comparable(actual, wanted)
        return left == right
    if operator in ("LESSTHAN", "GREATERTHAN"):
        return _ordered(actual, wanted, at_least=operator == "GREATERTHAN")
    text, part = _text(actual), _text(wanted)
    if operator == "CONTAINS":
        return part in text
    if operator == "BEGINS":
        return text.startswith(part)
    return text.endswith(part)  # ENDS


def _ordered(actual: Any, wanted: Any, *, at_least: bool) -> bool:
    if actual is None or wanted is None or wanted == NULL_VALUE:
        return False
    left, right = _comparable(actual, wanted)
    try:
        return bool(left >= right) if at_least else bool(left <= right)
    except TypeError:
        return False


def _comparable(actual: Any, wanted: Any) -> tuple[Any, Any]:
    if _is_number(actual) or _is_number(wanted):
        left, right = _number(actual), _number(wanted)
        if left is not None and right is not None:
            return left, right
    return _text(actual), _text(wanted)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        value = int(value)
    text = str(value).strip().casefold()
    return text[:-4] if text.endswith(" utc") else text


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() not in ("", "0", "false", "no")
    return bool(value)
