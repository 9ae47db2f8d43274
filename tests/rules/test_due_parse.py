"""parse_due: what each expression means, and the exact message for each mistake."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bridge.rules.calendar import BusinessCalendar
from bridge.rules.due import DueExpression, DueExpressionError, compute_due, parse_due

# fmt: off
PARSED = [
    # text, amount, unit, weekday, at, base
    ("+2 business days at 09:00", 2, "business_days", None, time(9), None),
    ("+1 business day", 1, "business_days", None, None, None),
    ("+4 hours", 4, "hours", None, None, None),
    ("+1 hour", 1, "hours", None, None, None),
    ("+30 minutes", 30, "minutes", None, None, None),
    ("+1 minute", 1, "minutes", None, None, None),
    ("+3 days at 17:30", 3, "days", None, time(17, 30), None),
    ("+1 day", 1, "days", None, None, None),
    ("+1 week", 7, "days", None, None, None),
    ("+2 weeks at 10:00", 14, "days", None, time(10), None),
    ("2 days", 2, "days", None, None, None),
    ("+ 2days", 2, "days", None, None, None),
    ("-7 days from {{ data.dateEventStart }} at 09:00", -7, "days", None, time(9),
     "{{ data.dateEventStart }}"),
    ("-2 business days from {{ data.paymentDueDate }}", -2, "business_days", None, None,
     "{{ data.paymentDueDate }}"),
    ("-7 DAYS FROM {{ data.dateEventStart }} AT 9:00", -7, "days", None, time(9),
     "{{ data.dateEventStart }}"),
    ("-1 day at 08:15 from {{ data.x }}", -1, "days", None, time(8, 15), "{{ data.x }}"),
    ("-1 day from {{ data.at | default('x at y') }} at 07:00", -1, "days", None, time(7),
     "{{ data.at | default('x at y') }}"),
    ("-7 days from 2026-12-20 at 09:00", -7, "days", None, time(9), "2026-12-20"),
    ("next monday at 10:00", 0, "weekday", 0, time(10), None),
    ("next Sunday", 0, "weekday", 6, None, None),
    ("next thu at 23:59", 0, "weekday", 3, time(23, 59), None),
    ("next saturday at 00:00", 0, "weekday", 5, time(0), None),
    ("today at 16:00", 0, "days", None, time(16), None),
    ("tomorrow at 09:00", 1, "days", None, time(9), None),
    ("Tomorrow", 1, "days", None, None, None),
    ("  NOW  ", 0, "minutes", None, None, None),
]
# fmt: on


@pytest.mark.parametrize(("text", "amount", "unit", "weekday", "at", "base"), PARSED)
def test_parse_due(
    text: str, amount: int, unit: str, weekday: int | None, at: time | None, base: str | None
) -> None:
    expr = parse_due(text)
    assert (expr.amount, expr.unit, expr.weekday, expr.at, expr.base) == (
        amount,
        unit,
        weekday,
        at,
        base,
    )
    assert expr.text == text.strip()
    assert str(expr) == text.strip()


def test_parsed_expression_is_frozen_and_comparable() -> None:
    expr = parse_due("+1 business day at 09:00")
    spaced = parse_due("+1  business  day  at  09:00")
    assert replace(spaced, text=expr.text) == expr
    assert expr == DueExpression("+1 business day at 09:00", 1, "business_days", at=time(9))
    with pytest.raises(AttributeError):
        expr.amount = 2  # type: ignore[misc]


# fmt: off
ERRORS = [
    ("+2 fortnights",
     "unknown unit 'fortnights' (use minutes, hours, days, weeks or business days)"),
    ("+1 months", "unknown unit 'months'"),
    ("+1 business", "unknown unit 'business'"),
    ("tomorrow at 25:00", "bad time '25:00'"),
    ("today at 12:60", "bad time '12:60'"),
    ("today at 9am", "bad time '9am' (use 24-hour HH:MM)"),
    ("+1 day at 9 am", "bad time '9 am' (use 24-hour HH:MM)"),
    ("next funday", "unknown weekday 'funday'"),
    ("next week", "unknown weekday 'week'"),
    ("next", "expected a weekday after 'next'"),
    ("next at 10:00", "expected a weekday after 'next'"),
    ("soon", "expected '+N unit' or 'next <weekday>' (or 'now', 'today', 'tomorrow'), got 'soon'"),
    ("at 10:00", "expected '+N unit' or 'next <weekday>'"),
    ("", "empty due expression; expected '+N unit' or 'next <weekday>'"),
    ("   ", "empty due expression"),
    ("+two days", "expected a whole number after '+', got 'two'"),
    ("-", "expected a whole number after '-', got ''"),
    ("+2", "missing unit after '+2' (use minutes, hours, days, weeks or business days)"),
    ("+10000 days", "number too large: 10000 (at most 9999)"),
    ("+4 hours at 09:00",
     "'at HH:MM' cannot follow '+4 hours': minutes and hours count elapsed time"),
    ("+30 minutes at 09:00", "'at HH:MM' cannot follow '+30 minutes'"),
    ("now at 10:00", "'now' takes no 'at' time; use 'today at HH:MM'"),
    ("tomorrow at", "missing time after 'at' (use 24-hour HH:MM)"),
    ("-7 days from", "missing value after 'from'"),
    ("-7 days from   at 09:00", "missing value after 'from'"),
    ("-7 days from {{ data.x }} at", "missing time after 'at'"),
    ("+1 day at 09:00 from {{ data.x }} at 10:00", "'at' given twice"),
    ("next monday from {{ data.x }}",
     "'from' cannot follow 'next monday'; use '+N unit from ...' or '-N unit from ...'"),
    ("tomorrow from {{ data.x }}", "'from' cannot follow 'tomorrow'"),
    ("-7 days from 2026-02-30", "'from' value is not a valid date: day is out of range for month"),
    ("-7 days from next week", "'from' value is not a date or timestamp"),
]
# fmt: on


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_due_errors(text: str, message: str) -> None:
    with pytest.raises(DueExpressionError) as caught:
        parse_due(text)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


def test_parse_due_refuses_non_text() -> None:
    with pytest.raises(DueExpressionError, match="due must be text"):
        parse_due(5)  # type: ignore[arg-type]


SYDNEY = BusinessCalendar("Australia/Sydney", "AU", "NSW")
NOW = datetime(2026, 6, 17, 14, 30, tzinfo=ZoneInfo("Australia/Sydney"))
FROM = parse_due("-7 days from {{ data.dateEventStart }} at 09:00")

# fmt: off
BASE_ERRORS = [
    ("", "'from' value is empty"),
    ("   ", "'from' value is empty"),
    ("0000-00-00 00:00:00", "'from' value is iVvy's empty date 0000-00-00"),
    ("0000-00-00", "'from' value is iVvy's empty date 0000-00-00"),
    ("2026-12-20T09:00:00", "'from' value is a timestamp without a UTC offset (add Z or +hh:mm)"),
    ("2026-12-20 09:00", "'from' value is a timestamp without a UTC offset"),
    ("2026-13-01", "'from' value is not a valid date: month must be in 1..12"),
    ("2026-12-20 25:00:00", "'from' value is not a valid date: hour must be in 0..23"),
    ("2026-12-20T09:00:00+25:00", "'from' value is not a valid date: it is not ISO 8601"),
    ("20/12/2026", "'from' value is not a date or timestamp (expected yyyy-mm-dd, "
                   "yyyy-mm-dd HH:MM:SS [UTC] or ISO 8601 with an offset)"),
    ("someone@example.com", "'from' value is not a date or timestamp"),
    ("x" * 200, "'from' value is not a date or timestamp (200 characters; expected"),
]
# fmt: on


@pytest.mark.parametrize(("base", "message"), BASE_ERRORS)
def test_bad_base_errors_do_not_echo_the_value(base: str, message: str) -> None:
    with pytest.raises(DueExpressionError) as caught:
        compute_due(FROM, now=NOW, calendar=SYDNEY, base=base)
    assert str(caught.value).startswith(message)
    if base.strip() and base.strip() not in message:
        assert base.strip() not in str(caught.value)


def test_base_required_when_expression_has_from() -> None:
    with pytest.raises(DueExpressionError, match="needs the rendered 'from' value"):
        compute_due(FROM, now=NOW, calendar=SYDNEY)


def test_base_refused_when_expression_has_no_from() -> None:
    with pytest.raises(DueExpressionError, match="has no 'from', yet a base value was given"):
        compute_due(parse_due("+1 day"), now=NOW, calendar=SYDNEY, base="2026-12-20")


def test_result_out_of_range() -> None:
    with pytest.raises(DueExpressionError, match="falls outside the supported dates"):
        compute_due(parse_due("+9 days from {{ d }}"), now=NOW, calendar=SYDNEY, base="9999-12-30")


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        compute_due(parse_due("now"), now=datetime(2026, 6, 17, 14, 30), calendar=SYDNEY)
