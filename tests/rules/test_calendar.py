"""BusinessCalendar: business days, holidays, closures, wall-time resolution, snapping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bridge.rules.calendar import (
    BusinessCalendar,
    parse_clock_time,
    parse_weekday,
    resolve_wall_time,
)

NSW = BusinessCalendar("Australia/Sydney", "AU", "NSW")
ENGLAND = BusinessCalendar("Europe/London", "GB", "ENG")
US = BusinessCalendar("America/Los_Angeles", "US")
PLAIN = BusinessCalendar("Australia/Sydney")
CLOSED = BusinessCalendar("Australia/Sydney", "AU", "NSW", closures=["2026-12-29"])

# fmt: off
BUSINESS_DAYS = [
    (NSW, date(2026, 12, 24), True),    # Thursday
    (NSW, date(2026, 12, 25), False),   # Christmas
    (NSW, date(2026, 12, 26), False),   # Boxing Day, a Saturday
    (NSW, date(2026, 12, 28), False),   # Boxing Day observed
    (NSW, date(2026, 12, 29), True),
    (NSW, date(2027, 1, 1), False),     # New Year's Day
    (NSW, date(2027, 1, 4), True),
    (NSW, date(2027, 1, 26), False),    # Australia Day, a Tuesday
    (NSW, date(2027, 12, 27), False),   # Christmas 2027 (Saturday) observed
    (NSW, date(2027, 12, 28), False),   # Boxing Day 2027 (Sunday) observed
    (NSW, date(2026, 6, 8), False),     # King's Birthday
    (NSW, date(2026, 4, 3), False),     # Good Friday
    (NSW, date(2026, 4, 6), False),     # Easter Monday
    (NSW, date(2026, 6, 20), False),    # Saturday
    (NSW, date(2026, 6, 21), False),    # Sunday
    (PLAIN, date(2026, 12, 25), True),  # no holidays configured
    (CLOSED, date(2026, 12, 29), False),
    (ENGLAND, date(2026, 5, 4), False),    # Early May bank holiday
    (ENGLAND, date(2026, 8, 31), False),   # Summer bank holiday (England only)
    (ENGLAND, date(2026, 1, 26), True),
    (US, date(2026, 7, 3), False),      # Independence Day observed
    (US, date(2026, 11, 26), False),    # Thanksgiving
    (US, date(2026, 11, 27), True),
    (US, date(2026, 12, 28), True),
]
# fmt: on


@pytest.mark.parametrize(("calendar", "day", "expected"), BUSINESS_DAYS)
def test_is_business_day(calendar: BusinessCalendar, day: date, expected: bool) -> None:
    assert calendar.is_business_day(day) is expected


def test_holiday_name_and_closures() -> None:
    assert NSW.holiday_name(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert NSW.holiday_name(date(2026, 12, 29)) is None
    assert CLOSED.holiday_name(date(2026, 12, 29)) is None
    assert PLAIN.holiday_name(date(2026, 12, 25)) is None


# fmt: off
ADDED = [
    (date(2026, 6, 20), 1, date(2026, 6, 22)),     # Saturday +1: Monday
    (date(2026, 6, 20), -1, date(2026, 6, 19)),    # Saturday -1: Friday
    (date(2026, 6, 20), 0, date(2026, 6, 22)),     # Saturday +0: Monday
    (date(2026, 6, 16), 0, date(2026, 6, 16)),     # Tuesday +0: itself
    (date(2026, 6, 19), 1, date(2026, 6, 22)),     # Friday +1: Monday
    (date(2026, 6, 22), -1, date(2026, 6, 19)),    # Monday -1: Friday
    (date(2026, 6, 15), 10, date(2026, 6, 29)),
    (date(2026, 6, 5), 1, date(2026, 6, 9)),       # over King's Birthday
    (date(2026, 12, 24), 1, date(2026, 12, 29)),
    (date(2026, 12, 24), 4, date(2027, 1, 4)),
    (date(2027, 1, 4), -2, date(2026, 12, 30)),
]
# fmt: on


@pytest.mark.parametrize(("day", "n", "expected"), ADDED)
def test_add_business_days(day: date, n: int, expected: date) -> None:
    assert NSW.add_business_days(day, n) == expected


def test_next_and_previous_business_day_are_strict() -> None:
    assert NSW.next_business_day(date(2026, 6, 16)) == date(2026, 6, 17)
    assert NSW.next_business_day(date(2026, 12, 24)) == date(2026, 12, 29)
    assert NSW.previous_business_day(date(2026, 6, 16)) == date(2026, 6, 15)
    assert CLOSED.next_business_day(date(2026, 12, 24)) == date(2026, 12, 30)


SYDNEY = ZoneInfo("Australia/Sydney")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # half-hour daylight saving

# fmt: off
WALL_TIMES = [
    (SYDNEY, datetime(2026, 10, 4, 1, 59), datetime(2026, 10, 3, 15, 59)),
    (SYDNEY, datetime(2026, 10, 4, 2, 0), datetime(2026, 10, 3, 16, 0)),    # gap
    (SYDNEY, datetime(2026, 10, 4, 2, 30), datetime(2026, 10, 3, 16, 0)),   # gap
    (SYDNEY, datetime(2026, 10, 4, 2, 59), datetime(2026, 10, 3, 16, 0)),   # gap
    (SYDNEY, datetime(2026, 10, 4, 3, 0), datetime(2026, 10, 3, 16, 0)),
    (SYDNEY, datetime(2026, 4, 5, 2, 30), datetime(2026, 4, 4, 15, 30)),    # fold: AEDT
    (SYDNEY, datetime(2026, 4, 5, 3, 0), datetime(2026, 4, 4, 17, 0)),
    (LONDON, datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 1, 0)),    # gap
    (LONDON, datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 0, 30)), # fold: BST
    (LORD_HOWE, datetime(2026, 10, 4, 2, 15), datetime(2026, 10, 3, 15, 30)),  # gap
]
# fmt: on


@pytest.mark.parametrize(("tz", "wall", "utc"), WALL_TIMES)
def test_resolve_wall_time(tz: ZoneInfo, wall: datetime, utc: datetime) -> None:
    resolved = resolve_wall_time(wall, tz)
    assert resolved.astimezone(UTC).replace(tzinfo=None) == utc
    assert resolved.tzinfo is tz


SNAP = BusinessCalendar("Australia/Sydney", "AU", "NSW", snap_to_working_hours=True)


def _syd(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SYDNEY)


# fmt: off
SNAPPED = [
    ("2026-06-17T10:00", False, "2026-06-17T10:00"),
    ("2026-06-17T09:00", False, "2026-06-17T09:00"),
    ("2026-06-17T17:00", False, "2026-06-17T17:00"),
    ("2026-06-17T17:01", False, "2026-06-18T09:00"),
    ("2026-06-17T08:59", False, "2026-06-17T09:00"),
    ("2026-06-19T18:00", False, "2026-06-22T09:00"),   # Friday evening
    ("2026-06-20T12:00", False, "2026-06-22T09:00"),   # Saturday
    ("2026-06-17T20:00", True, "2026-06-17T20:00"),    # explicit time kept
    ("2026-06-20T12:00", True, "2026-06-22T09:00"),    # ...unless the day moves
    ("2026-12-24T17:30", False, "2026-12-29T09:00"),
]
# fmt: on


@pytest.mark.parametrize(("moment", "keep_time", "expected"), SNAPPED)
def test_next_working_time(moment: str, keep_time: bool, expected: str) -> None:
    assert SNAP.next_working_time(_syd(moment), keep_time=keep_time) == _syd(expected)


def test_next_working_time_answers_in_the_calendar_zone() -> None:
    moment = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)  # 10:00 in Sydney
    snapped = SNAP.next_working_time(moment)
    assert snapped.tzinfo is SNAP.tz
    assert snapped == moment


# fmt: off
BAD_SETTINGS = [
    ({"tz": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus' (use an IANA name such as"),
    ({"tz": ""}, "unknown timezone ''"),
    ({"tz": "../etc/passwd"}, "unknown timezone '../etc/passwd'"),
    ({"tz": "UTC", "country": "XX"},
     "unknown holiday country 'XX' (use an ISO 3166 code such as AU, GB or US)"),
    ({"tz": "UTC", "country": "AU", "subdivision": "ZZZ"},
     "unknown holiday subdivision 'ZZZ' for AU (known: ACT, NSW"),
    ({"tz": "UTC", "subdivision": "NSW"}, "holiday subdivision 'NSW' needs a country"),
    ({"tz": "UTC", "workdays": ()}, "workdays must name at least one day"),
    ({"tz": "UTC", "workdays": (0, 7)}, "workdays must be numbers 0 (Monday) to 6 (Sunday)"),
    ({"tz": "UTC", "work_start": time(17), "work_end": time(9)},
     "working hours start (17:00) must be before they end (09:00)"),
    ({"tz": "UTC", "work_start": time(9), "work_end": time(9)},
     "working hours start (09:00) must be before they end (09:00)"),
    ({"tz": "UTC", "closures": ["2026-13-40"]}, "bad closure date '2026-13-40' (use yyyy-mm-dd)"),
    ({"tz": "UTC", "closures": [datetime(2026, 12, 24, 9)]},
     "closure 2026-12-24T09:00:00 must be a date, not a date and time"),
]
# fmt: on


@pytest.mark.parametrize(("settings", "message"), BAD_SETTINGS)
def test_bad_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessCalendar(**settings)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_country_and_subdivision_case_is_forgiven() -> None:
    calendar = BusinessCalendar("Australia/Sydney", "au", "nsw")
    assert (calendar.country, calendar.subdivision) == ("AU", "NSW")
    assert not calendar.is_business_day(date(2026, 6, 8))  # King's Birthday, NSW
    assert repr(calendar) == "BusinessCalendar(tz='Australia/Sydney', holidays='AU-NSW')"


def test_subdivisions_differ() -> None:
    # The King's Birthday is in June in NSW but in September/October in WA and QLD.
    western = BusinessCalendar("Australia/Perth", "AU", "WA")
    assert western.is_business_day(date(2026, 6, 8))


# fmt: off
WEEKDAYS = [("monday", 0), ("Mon", 0), ("TUESDAY", 1), ("tues", 1), ("wed", 2),
            ("thurs", 3), ("thu", 3), ("friday", 4), ("sat", 5), (" sunday ", 6)]
# fmt: on


@pytest.mark.parametrize(("name", "number"), WEEKDAYS)
def test_parse_weekday(name: str, number: int) -> None:
    assert parse_weekday(name) == number


def test_parse_weekday_unknown() -> None:
    with pytest.raises(ValueError, match=r"^unknown weekday 'funday'$"):
        parse_weekday("funday")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:05", time(9, 5)), ("23:59", time(23, 59)), ("00:00", time(0))],
)
def test_parse_clock_time(text: str, expected: time) -> None:
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "12:60", "9", "9am", "09:00:00", "", "1:2"])
def test_parse_clock_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=f"^bad time '{text}'"):
        parse_clock_time(text)
