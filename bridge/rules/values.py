"""Reading, comparing and showing event values: paths, loose equality, dates, redaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_SENSITIVE_NAMES = ("email", "e-mail", "phone", "mobile")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"^\+?[\d\s().-]{8,}$")
_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_MAX_SHOWN = 60


def resolve(obj: Any, path: str) -> Any:
    """Follow a dotted path through mappings and lists; :data:`MISSING` when it leads nowhere."""
    current = obj
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def is_set(value: Any) -> bool:
    """A value is set unless missing, null, or empty (an empty string or list is not set)."""
    if value is MISSING or value is None:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)


def is_sensitive(path: str, value: Any = None) -> bool:
    """True for emails and phone numbers, judged by the field's name or the value's shape."""
    last = path.rsplit(".", 1)[-1].lower()
    if any(name in last for name in _SENSITIVE_NAMES):
        return True
    if isinstance(value, str):
        if _EMAIL.search(value):
            return True
        if _PHONE.match(value) and not _DATE_START.match(value):
            return True
    return False


def show(path: str, value: Any) -> str:
    """A value as shown in an explanation: quoted, shortened, or hidden when sensitive."""
    if is_sensitive(path, value) or (isinstance(value, list) and _any_sensitive(path, value)):
        return "(a hidden value)"
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"
        return f"'{text}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return show_list(path, value)
    return str(value)


def show_list(path: str, values: Any) -> str:
    """A list of configured values as ``[a, b]``, hidden when any is sensitive."""
    if not isinstance(values, list):
        return show(path, values)
    if _any_sensitive(path, values):
        return "[hidden values]"
    return "[" + ", ".join(str(v) for v in values) + "]"


def _any_sensitive(path: str, values: list[Any]) -> bool:
    return any(is_sensitive(path, v) for v in values)


def _scalar(value: Any, fold: bool) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value.casefold() if fold else value
    return value


def same_value(a: Any, b: Any, fold: bool) -> bool:
    """Loose equality: ``3 == "3"``, ``True == "true"``, case folded when asked."""
    if a is MISSING or b is MISSING:
        return a is b
    left, right = _scalar(a, fold), _scalar(b, fold)
    if left == right:
        return True
    numbers = _number(a), _number(b)
    return numbers[0] is not None and numbers[0] == numbers[1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime from ISO 8601, iVvy's ``yyyy-mm-dd HH:MM:SS UTC``, or a date.

    Naive values are taken as UTC (iVvy sends UTC); ``None`` when the value is no date.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and _DATE_START.match(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip().removesuffix(" UTC"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Both as numbers, else both as dates; ``None`` when they cannot be ordered."""
    numbers = _number(a), _number(b)
    if numbers[0] is not None and numbers[1] is not None:
        return numbers
    dates = parse_timestamp(a), parse_timestamp(b)
    if dates[0] is not None and dates[1] is not None:
        return dates
    return None
