"""Reading typed parameters out of a request body, with iVvy's validation codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.ivvy.sandbox.errors import not_valid, required

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def coerce_int(value: Any) -> int | None:
    """An int from an int or a numeric string (iVvy accepts ``"107"``); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def int_field(body: Mapping[str, Any], name: str) -> int | None:
    """The parameter as an int, None when absent or null; 23016 when not a whole number."""
    value = body.get(name)
    if value is None:
        return None
    number = coerce_int(value)
    if number is None:
        raise not_valid(name, "Value must be a whole number")
    return number


def str_field(body: Mapping[str, Any], name: str) -> str | None:
    """The parameter as a string, None when absent or null; 23016 when not a string."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise not_valid(name, "Value must be a string")
    return value


def bool_field(body: Mapping[str, Any], name: str) -> bool:
    """The parameter as a bool (true/false, 1/0); absent means False."""
    value = body.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise not_valid(name, "Value must be a boolean")


def require(body: Mapping[str, Any], *names: str) -> None:
    """23017 for the first name that is absent, null or an empty string."""
    for name in names:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise required(name)


def format_timestamp(moment: datetime) -> str:
    """iVvy's response timestamp, ``yyyy-mm-dd HH:MM:SS UTC``."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT) + " UTC"


def parse_timestamp(text: str) -> datetime | None:
    """An aware UTC datetime from ``yyyy-mm-dd HH:MM:SS`` with an optional `` UTC``; else None."""
    value = text.strip()
    if value.upper().endswith(" UTC"):
        value = value[:-4]
    try:
        return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
