"""Due-date expressions: parse a rule's ``due:`` text once, compute the due time per event.

Grammar (case-insensitive, any whitespace between words)::

    now
    today [at HH:MM]            tomorrow [at HH:MM]
    next <weekday> [at HH:MM]   (monday ... sunday, or mon ... sun)
    [+|-]N <unit> [from <value>] [at HH:MM]
    <unit>: minute(s), hour(s), day(s), week(s), business day(s)   (N at most 9999)

``<value>`` is a Jinja template (``{{ data.dateEventStart }}``) kept as text; the
engine renders it and passes the result to ``compute_due(base=...)``.

Semantics, all in the calendar's timezone:

* minutes and hours are elapsed time: ``+24 hours`` across a daylight-saving
  change is 24 real hours, so the wall clock moves by 23 or 25.
* days, weeks and business days are wall-clock date arithmetic: the date moves,
  the time of day is kept (or replaced by ``at HH:MM``).  ``tomorrow`` is
  ``+1 day``, ``today`` is ``+0 days``.  A bare-date base starts at local midnight.
* business days: see ``BusinessCalendar.add_business_days`` (from Saturday,
  ``+1`` is Monday and ``-1`` is Friday).
* ``next <weekday>`` is the next such day strictly after today: on a Monday,
  ``next monday`` is seven days later.
* A wall time that does not exist (spring forward) moves forward to the moment
  the clocks change; an ambiguous one (fall back) takes its first occurrence.
* ``today at 08:00`` computed at 10:00 is in the past; it is not moved.
* With ``calendar.snap_to_working_hours``, a result outside working hours or on
  a non-business day moves to the next business day's opening; an explicit
  ``at HH:MM`` is kept unless its day is not a business day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bridge.rules.calendar import BusinessCalendar, parse_clock_time, parse_weekday
from bridge.rules.due_from import DueExpressionError, parse_from_date

__all__ = [
    "DueExpression",
    "DueExpressionError",
    "compute_due",
    "parse_due",
    "parse_from_date",
    "to_ivvy_utc",
]

Unit = Literal["minutes", "hours", "days", "business_days", "weekday"]

MAX_AMOUNT = 9999
_UTC_ZONE = ZoneInfo("UTC")
_EXPECTED = "expected '+N unit' or 'next <weekday>' (or 'now', 'today', 'tomorrow')"
_UNIT_HINT = "use minutes, hours, days, weeks or business days"
_UNITS: dict[str, tuple[Unit, int]] = {
    "minute": ("minutes", 1),
    "minutes": ("minutes", 1),
    "min": ("minutes", 1),
    "mins": ("minutes", 1),
    "hour": ("hours", 1),
    "hours": ("hours", 1),
    "day": ("days", 1),
    "days": ("days", 1),
    "week": ("days", 7),
    "weeks": ("days", 7),
    "business day": ("business_days", 1),
    "business days": ("business_days", 1),
}
_FROM = re.compile(r"\s+from(?:\s+|$)", re.IGNORECASE)
_AT = re.compile(r"(?:^|\s)at(?:\s+|$)", re.IGNORECASE)
_OFFSET = re.compile(r"([+-])?\s*(\d+)\s*(.*)")


@dataclass(frozen=True)
class DueExpression:
    """A parsed ``due:`` expression.

    ``unit`` "weekday" means ``next <weekday>`` (``weekday`` 0 = Monday);
    otherwise ``amount`` (signed; weeks already turned into days) counts ``unit``.
    ``base`` is the ``from`` template text, or None to count from ``now``.
    """

    text: str
    amount: int = 0
    unit: Unit = "minutes"
    weekday: int | None = None
    at: time | None = None
    base: str | None = None

    def __str__(self) -> str:
        return self.text


def parse_due(text: str) -> DueExpression:
    """Parse a ``due:`` expression; DueExpressionError says precisely what is wrong."""
    if not isinstance(text, str):
        raise DueExpressionError("due must be text such as '+1 business day at 09:00'")
    source = text.strip()
    if not source:
        raise DueExpressionError(f"empty due expression; {_EXPECTED}")
    head, base = _split_from(source)
    head, at_text = _split_at(head)
    if base is not None:
        base, base_at_text = _split_at(base, after_template=True)
        if not base:
            raise DueExpressionError("missing value after 'from'")
        if at_text is not None and base_at_text is not None:
            raise DueExpressionError("'at' given twice")
        at_text = at_text if at_text is not None else base_at_text
    amount, unit, weekday, words = _parse_head(head)
    at = None
    if at_text is not None:
        if words == "now":
            raise DueExpressionError("'now' takes no 'at' time; use 'today at HH:MM'")
        if unit in ("minutes", "hours"):
            raise DueExpressionError(
                f"'at HH:MM' cannot follow '{words}': minutes and hours count elapsed time"
            )
        if not at_text:
            raise DueExpressionError("missing time after 'at' (use 24-hour HH:MM)")
        try:
            at = parse_clock_time(at_text)
        except ValueError as error:
            raise DueExpressionError(str(error)) from None
    if base is not None:
        if not _OFFSET.fullmatch(words):
            raise DueExpressionError(
                f"'from' cannot follow '{words}'; use '+N unit from ...' or '-N unit from ...'"
            )
        if "{" not in base:
            parse_from_date(base, _UTC_ZONE)  # a literal date: check it now, not per event
    return DueExpression(source, amount, unit, weekday, at, base)


def _split_from(source: str) -> tuple[str, str | None]:
    match = _FROM.search(source)
    if match is None:
        return source, None
    return source[: match.start()], source[match.end() :].strip()


def _split_at(part: str, *, after_template: bool = False) -> tuple[str, str | None]:
    """Split off ``at ...``; in a ``from`` value only after the last ``}}`` of its template."""
    start = part.rfind("}}") + 2 if after_template and "}}" in part else 0
    match = _AT.search(part, start)
    if match is None:
        return part.strip(), None
    return part[: match.start()].strip(), part[match.end() :].strip()


def _parse_head(head: str) -> tuple[int, Unit, int | None, str]:
    """Return (amount, unit, weekday, normalised words) for the part before from/at."""
    words = " ".join(head.lower().split())
    if words == "now":
        return 0, "minutes", None, words
    if words in ("today", "tomorrow"):
        return (0 if words == "today" else 1), "days", None, words
    if words == "next" or words.startswith("next "):
        name = words[len("next") :].strip()
        if not name:
            raise DueExpressionError("expected a weekday after 'next'")
        try:
            return 0, "weekday", parse_weekday(name), words
        except ValueError as error:
            raise DueExpressionError(str(error)) from None
    match = _OFFSET.fullmatch(words)
    if match is None:
        if words[:1] in ("+", "-"):
            got = words[1:].split()[0] if words[1:].split() else ""
            raise DueExpressionError(f"expected a whole number after '{words[0]}', got '{got}'")
        raise DueExpressionError(f"{_EXPECTED}, got '{words}'")
    sign, digits, unit_words = match.groups()
    if len(digits) > 4 or int(digits) > MAX_AMOUNT:
        raise DueExpressionError(f"number too large: {digits} (at most {MAX_AMOUNT})")
    if not unit_words:
        raise DueExpressionError(f"missing unit after '{(sign or '')}{digits}' ({_UNIT_HINT})")
    if unit_words not in _UNITS:
        raise DueExpressionError(f"unknown unit '{unit_words}' ({_UNIT_HINT})")
    unit, factor = _UNITS[unit_words]
    amount = int(digits) * factor * (-1 if sign == "-" else 1)
    return amount, unit, None, words


def compute_due(
    expr: DueExpression,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    base: str | None = None,
) -> datetime:
    """Return the aware due time in ``calendar.tz``.

    ``base`` is the rendered ``from`` value: required when ``expr.base`` is set,
    refused otherwise.  DueExpressionError for a bad base or a result out of range.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if expr.base is not None and base is None:
        raise DueExpressionError(f"'{expr.text}' needs the rendered 'from' value")
    if expr.base is None and base is not None:
        raise DueExpressionError(f"'{expr.text}' has no 'from', yet a base value was given")
    start = parse_from_date(base, calendar.tz) if base is not None else now.astimezone(calendar.tz)
    try:
        due = _shift(expr, start, calendar)
    except OverflowError:
        raise DueExpressionError(f"'{expr.text}' falls outside the supported dates") from None
    if calendar.snap_to_working_hours:
        due = calendar.next_working_time(due, keep_time=expr.at is not None)
    return due


def _shift(expr: DueExpression, start: datetime, calendar: BusinessCalendar) -> datetime:
    if expr.unit in ("minutes", "hours"):
        elapsed = timedelta(**{expr.unit: expr.amount})
        return (start.astimezone(UTC) + elapsed).astimezone(calendar.tz)
    wall = start.replace(tzinfo=None, fold=0)
    day = wall.date()
    if expr.unit == "days":
        day += timedelta(days=expr.amount)
    elif expr.unit == "business_days":
        day = calendar.add_business_days(day, expr.amount)
    else:
        assert expr.weekday is not None
        day += timedelta(days=(expr.weekday - day.weekday() - 1) % 7 + 1)
    clock = expr.at if expr.at is not None else wall.time()
    return calendar.resolve(datetime.combine(day, clock))


def to_ivvy_utc(dt: datetime) -> str:
    """Return ``dt`` as iVvy's UTC timestamp ``yyyy-mm-dd HH:MM:SS`` (seconds truncated)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("to_ivvy_utc needs a timezone-aware datetime")
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
