"""The ``from`` value of a due expression: a date or timestamp rendered from event data.

Accepted forms:

* iVvy timestamps ``yyyy-mm-dd HH:MM:SS`` with optional `` UTC``: always UTC;
* ISO 8601 with an offset or ``Z`` (``2026-12-20T09:00:00+11:00``);
* a bare date ``yyyy-mm-dd``: midnight local time in the calendar's timezone.

Error messages describe the problem without echoing the value, which comes from
event data and may hold anything (an email address in a mis-mapped field).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bridge.rules.calendar import resolve_wall_time

_IVVY = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?: ?UTC)?", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
_FORMS = "yyyy-mm-dd, yyyy-mm-dd HH:MM:SS [UTC] or ISO 8601 with an offset"
_MAX_LENGTH = 64
_FIELD_PROBLEM = re.compile(r"(year|month|day|hour|minute|second)\b[\w .]*")


class DueExpressionError(ValueError):
    """A due expression, or the value it counts from, that cannot give a due time."""


def parse_from_date(value: str, tz: ZoneInfo) -> datetime:
    """Return the aware instant ``value`` names, in ``tz``; DueExpressionError if it names none."""
    text = value.strip()
    if not text:
        raise DueExpressionError("'from' value is empty")
    if len(text) > _MAX_LENGTH:
        raise DueExpressionError(
            f"'from' value is not a date or timestamp ({len(text)} characters; expected {_FORMS})"
        )
    if text.startswith("0000-00-00"):
        raise DueExpressionError("'from' value is iVvy's empty date 0000-00-00")
    try:
        if _DATE.fullmatch(text):
            wall = datetime.combine(date.fromisoformat(text), datetime.min.time())
            return resolve_wall_time(wall, tz)
        ivvy = _IVVY.fullmatch(text)
        if ivvy:
            return datetime.fromisoformat(ivvy[1]).replace(tzinfo=UTC).astimezone(tz)
        if _DATE_TIME.fullmatch(text):
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
            if parsed.tzinfo is None:
                raise DueExpressionError(
                    "'from' value is a timestamp without a UTC offset (add Z or +hh:mm)"
                )
            return parsed.astimezone(tz)
    except DueExpressionError:
        raise
    except ValueError as error:
        # Keep datetime's plain field messages ("month must be in 1..12"); others
        # may echo the value ("Invalid isoformat string: ...") or ramble.
        reason = str(error) if _FIELD_PROBLEM.fullmatch(str(error)) else "it is not ISO 8601"
        raise DueExpressionError(f"'from' value is not a valid date: {reason}") from None
    raise DueExpressionError(f"'from' value is not a date or timestamp (expected {_FORMS})")
