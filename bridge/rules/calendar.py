"""A venue's business calendar: timezone, workdays, public holidays, closures, working hours.

Conventions (due-date arithmetic relies on them):

* ``add_business_days(day, n)`` takes ``|n|`` steps, each landing on the next
  (or, for ``n < 0``, previous) business day.  From Saturday, ``+1`` is Monday
  and ``-1`` is Friday; from a Tuesday, ``+1`` is Wednesday.  ``n == 0`` gives
  ``day`` itself when it is a business day, else the next business day.
* Wall-clock times are made aware with ``resolve_wall_time``: a time that does
  not exist (the spring-forward gap) moves forward to the first valid instant,
  the moment the clocks change; an ambiguous time (fall back) takes its first
  occurrence (``fold=0``).
* Working hours run from ``work_start`` to ``work_end`` inclusive: a task due at
  exactly 17:00 with hours 09:00-17:00 is inside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.rules.country_holidays import country_holidays, subdivisions

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ALIASES = {"tues": 1, "thur": 3, "thurs": 3}
_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def parse_weekday(name: str) -> int:
    """Return 0 (Monday) to 6 for a weekday name or its 3-letter abbreviation, any case."""
    key = name.strip().lower()
    for number, full in enumerate(WEEKDAY_NAMES):
        if key in (full, full[:3]):
            return number
    if key in _WEEKDAY_ALIASES:
        return _WEEKDAY_ALIASES[key]
    raise ValueError(f"unknown weekday '{name}'")


def parse_clock_time(text: str) -> time:
    """Return the time of a 24-hour ``HH:MM`` (or ``H:MM``); ValueError ``bad time '...'``."""
    match = _CLOCK_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bad time '{text}' (use 24-hour HH:MM)")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"bad time '{text}'")
    return time(hour, minute)


def resolve_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """Return the aware instant of a naive wall time in ``tz`` (gap: forward; fold: first)."""
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(fold=0):
        return first
    # In a gap zoneinfo reads fold=0 with the offset from before the change, which
    # lands after the change, and fold=1 with the offset from after, which lands
    # before it.  Search between them for the first instant on the new offset.
    after = first.astimezone(UTC)
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    new_offset = after.astimezone(tz).utcoffset()
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(tz)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone '{name}' (use an IANA name such as Australia/Sydney)"
        ) from None


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"closure {value.isoformat()} must be a date, not a date and time")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"bad closure date '{value}' (use yyyy-mm-dd)") from None


class BusinessCalendar:
    """Which days are business days and when working hours are, in one timezone."""

    def __init__(
        self,
        tz: str,
        country: str | None = None,
        subdivision: str | None = None,
        closures: Iterable[date | str] = (),
        workdays: Iterable[int] = (0, 1, 2, 3, 4),
        work_start: time = time(9),
        work_end: time = time(17),
        snap_to_working_hours: bool = False,
    ) -> None:
        """Validate everything now; ValueError with a readable message on any bad setting."""
        self.tz = _zone(tz)
        self.tz_name = tz
        self.country = country.strip().upper() if country else None
        self.subdivision = subdivision.strip() if subdivision else None
        if self.subdivision and not self.country:
            raise ValueError(f"holiday subdivision '{subdivision}' needs a country")
        self.closures = frozenset(_as_date(day) for day in closures)
        self.workdays = frozenset(workdays)
        if not self.workdays:
            raise ValueError("workdays must name at least one day")
        if not self.workdays <= set(range(7)):
            raise ValueError("workdays must be numbers 0 (Monday) to 6 (Sunday)")
        if work_start >= work_end:
            raise ValueError(
                f"working hours start ({work_start:%H:%M}) must be before they end "
                f"({work_end:%H:%M})"
            )
        self.work_start = work_start
        self.work_end = work_end
        self.snap_to_working_hours = snap_to_working_hours
        self._holidays: dict[int, dict[date, str]] = {}
        if self.country:
            self.subdivision = self._checked_subdivision()

    def in_zone(self, tz: str) -> BusinessCalendar:
        """The same workdays, holidays, closures and hours, in another timezone."""
        return BusinessCalendar(
            tz,
            self.country,
            self.subdivision,
            self.closures,
            self.workdays,
            self.work_start,
            self.work_end,
            self.snap_to_working_hours,
        )

    def __repr__(self) -> str:
        region = "-".join(part for part in (self.country, self.subdivision) if part) or "none"
        return f"BusinessCalendar(tz={self.tz_name!r}, holidays={region!r})"

    def _checked_subdivision(self) -> str | None:
        assert self.country is not None
        known_subdivisions = subdivisions(self.country)
        if known_subdivisions is None:
            raise ValueError(
                f"unknown holiday country '{self.country}' "
                "(use an ISO 3166 code such as AU, GB or US)"
            )
        if self.subdivision is None:
            return None
        for candidate in (self.subdivision, self.subdivision.upper()):
            try:
                country_holidays(self.country, subdiv=candidate)
            except NotImplementedError:
                continue
            return candidate
        known = ", ".join(known_subdivisions) or "none"
        raise ValueError(
            f"unknown holiday subdivision '{self.subdivision}' for {self.country} (known: {known})"
        )

    def holiday_name(self, day: date) -> str | None:
        """Return the public holiday's name on ``day``, or None (closures are not holidays)."""
        if self.country is None:
            return None
        year = self._holidays.get(day.year)
        if year is None:
            table = country_holidays(self.country, subdiv=self.subdivision, years=day.year)
            year = self._holidays[day.year] = dict(table.items())
        return year.get(day)

    def is_business_day(self, day: date) -> bool:
        """Return whether ``day`` is a workday that is neither a public holiday nor a closure."""
        return (
            day.weekday() in self.workdays
            and day not in self.closures
            and self.holiday_name(day) is None
        )

    def next_business_day(self, day: date) -> date:
        """Return the first business day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def previous_business_day(self, day: date) -> date:
        """Return the last business day strictly before ``day``."""
        day -= timedelta(days=1)
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day

    def add_business_days(self, day: date, n: int) -> date:
        """Return the day ``|n|`` business-day steps after (n > 0) or before (n < 0) ``day``."""
        if n == 0:
            return day if self.is_business_day(day) else self.next_business_day(day)
        step = self.next_business_day if n > 0 else self.previous_business_day
        for _ in range(abs(n)):
            day = step(day)
        return day

    def resolve(self, wall: datetime) -> datetime:
        """Return the aware instant of a naive local wall time (see ``resolve_wall_time``)."""
        return resolve_wall_time(wall, self.tz)

    def opening(self, day: date) -> datetime:
        """Return the aware start of working hours on ``day``."""
        return self.resolve(datetime.combine(day, self.work_start))

    def next_working_time(self, moment: datetime, *, keep_time: bool = False) -> datetime:
        """Return ``moment`` if inside working hours on a business day, else the next opening.

        With ``keep_time`` (an explicit ``at HH:MM``) only the day is checked: the
        time stays as given on a business day, and a non-business day moves to the
        next business day's opening.
        """
        local = moment.astimezone(self.tz)
        day = local.date()
        if not self.is_business_day(day):
            return self.opening(self.next_business_day(day))
        if keep_time:
            return local
        clock = local.time()
        if clock < self.work_start:
            return self.opening(day)
        if clock > self.work_end:
            return self.opening(self.next_business_day(day))
        return local
