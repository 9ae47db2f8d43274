"""What the status pages' forms take in: the event list's filters, read leniently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from bridge.store.queries import EVENT_STATES

MAX_TEXT = 320


def _day(raw: str, tz: ZoneInfo, *, end: bool = False) -> datetime | None:
    """Midnight at the start (or, with ``end``, the end) of a ``YYYY-MM-DD`` day in the
    account's timezone; None when malformed or beyond what a UTC datetime can hold (the
    database compares in UTC, so 0001-01-01 east of Greenwich would overflow there)."""
    try:
        day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
        midnight = datetime.combine(day, time(0, 0), tzinfo=tz)
        midnight.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return midnight


@dataclass
class EventFilters:
    """The event list's filters as typed in; ``problems`` says what was ignored and why."""

    source: str = ""
    state: str = ""
    q: str = ""
    since_day: str = ""
    until_day: str = ""
    cursor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: MultiDict[str, str], tz_name: str) -> EventFilters:
        """Filters from the query string; days are whole days in ``tz_name``, both inclusive."""
        tz = ZoneInfo(tz_name)
        found = cls(
            source=args.get("source", "").strip()[:64],
            state=args.get("state", "").strip(),
            q=args.get("q", "").strip()[:MAX_TEXT],
            since_day=args.get("since", "").strip()[:10],
            until_day=args.get("until", "").strip()[:10],
            cursor=args.get("cursor", "").strip()[:200],
        )
        if found.state and found.state not in EVENT_STATES:
            found.problems.append(f"unknown state {found.state!r} ignored")
            found.state = ""
        if found.since_day:
            found.since = _day(found.since_day, tz)
            if found.since is None:
                found.problems.append("the 'from' day is not a date (YYYY-MM-DD); ignored")
        if found.until_day:
            found.until = _day(found.until_day, tz, end=True)
            if found.until is None:
                found.problems.append("the 'to' day is not a date (YYYY-MM-DD); ignored")
        return found

    def query_args(self, **changes: str) -> dict[str, Any]:
        """The filters as query-string arguments (empty ones left out), with ``changes`` applied."""
        args = {
            "source": self.source,
            "state": self.state,
            "q": self.q,
            "since": self.since_day if self.since else "",
            "until": self.until_day if self.until else "",
            **changes,
        }
        return {key: value for key, value in args.items() if value}

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(self.source or self.state or self.q or self.since or self.until)
