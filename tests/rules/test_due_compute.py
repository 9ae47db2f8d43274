"""compute_due: each row's expected UTC string was worked out by hand.

Offsets used: Sydney AEST +10 / AEDT +11 (DST 2026-10-04 to 2027-04-04; it ended
2026-04-05), London GMT +0 / BST +1 (2026-03-29 to 2026-10-25), Los Angeles
PST -8 / PDT -7 (2026-03-08 to 2026-11-01).  AU-NSW holidays used: King's
Birthday Mon 2026-06-08, Christmas Fri 2026-12-25, Boxing Day Sat 2026-12-26
observed Mon 2026-12-28, New Year Fri 2027-01-01.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bridge.rules.calendar import BusinessCalendar
from bridge.rules.due import compute_due, parse_due, to_ivvy_utc

CALENDARS = {
    "syd": BusinessCalendar("Australia/Sydney", "AU", "NSW"),
    "syd_snap": BusinessCalendar("Australia/Sydney", "AU", "NSW", snap_to_working_hours=True),
    "syd_closed": BusinessCalendar(
        "Australia/Sydney",
        "AU",
        "NSW",
        closures=[date(2026, 12, 29), date(2026, 12, 30), "2026-12-31"],
    ),
    "syd_short": BusinessCalendar(
        "Australia/Sydney",
        "AU",
        "NSW",
        work_start=time(8, 30),
        work_end=time(16),
        snap_to_working_hours=True,
    ),
    "lon": BusinessCalendar("Europe/London", "GB", "ENG"),
    "la": BusinessCalendar("America/Los_Angeles", "US"),
    "dubai": BusinessCalendar("Asia/Dubai", workdays=(6, 0, 1, 2, 3)),
}

WED = "2026-06-17T14:30:00+10:00"  # Wednesday afternoon in Sydney, 04:30 UTC

ROWS = [
    # id, expression, now, calendar, base, expected UTC
    ("bd-wed", "+2 business days at 09:00", WED, "syd", None, "2026-06-18 23:00:00"),
    (
        "bd-fri-keeps-time",
        "+1 business day",
        "2026-06-19T14:30+10:00",
        "syd",
        None,
        "2026-06-22 04:30:00",
    ),
    (
        "bd-sat-forward",
        "+1 business day at 09:00",
        "2026-06-20T11:00+10:00",
        "syd",
        None,
        "2026-06-21 23:00:00",
    ),
    (
        "bd-sat-back",
        "-1 business day at 09:00",
        "2026-06-20T11:00+10:00",
        "syd",
        None,
        "2026-06-18 23:00:00",
    ),
    ("bd-sun", "+1 business day", "2026-06-21T10:00+10:00", "syd", None, "2026-06-22 00:00:00"),
    (
        "bd-zero-sat",
        "+0 business days at 09:00",
        "2026-06-20T11:00+10:00",
        "syd",
        None,
        "2026-06-21 23:00:00",
    ),
    (
        "bd-five",
        "+5 business days at 17:30",
        "2026-06-15T08:00+10:00",
        "syd",
        None,
        "2026-06-22 07:30:00",
    ),
    (
        "bd-kings-birthday",
        "+1 business day at 09:00",
        "2026-06-05T15:00+10:00",
        "syd",
        None,
        "2026-06-08 23:00:00",
    ),
    (
        "bd-spacing-case",
        "  +2   Business   DAYS   AT 09:00 ",
        WED,
        "syd",
        None,
        "2026-06-18 23:00:00",
    ),
    ("hours", "+4 hours", WED, "syd", None, "2026-06-17 08:30:00"),
    ("minutes", "+30 minutes", WED, "syd", None, "2026-06-17 05:00:00"),
    ("days-at", "+3 days at 17:30", WED, "syd", None, "2026-06-20 07:30:00"),
    ("week", "+1 week", WED, "syd", None, "2026-06-24 04:30:00"),
    ("weeks-at", "+2 weeks at 10:00", WED, "syd", None, "2026-07-01 00:00:00"),
    ("now", "now", WED, "syd", None, "2026-06-17 04:30:00"),
    ("today-at", "today at 16:00", WED, "syd", None, "2026-06-17 06:00:00"),
    ("today-past", "today at 08:00", WED, "syd", None, "2026-06-16 22:00:00"),
    ("tomorrow-at", "tomorrow at 09:00", WED, "syd", None, "2026-06-17 23:00:00"),
    ("tomorrow", "tomorrow", WED, "syd", None, "2026-06-18 04:30:00"),
    ("next-mon-from-wed", "next monday at 10:00", WED, "syd", None, "2026-06-22 00:00:00"),
    (
        "next-mon-on-mon",
        "next monday at 10:00",
        "2026-06-15T08:00+10:00",
        "syd",
        None,
        "2026-06-22 00:00:00",
    ),
    ("next-mon-from-sun", "next mon", "2026-06-21T10:00+10:00", "syd", None, "2026-06-22 00:00:00"),
    (
        "next-fri",
        "next Friday at 12:00",
        "2026-06-15T08:00+10:00",
        "syd",
        None,
        "2026-06-19 02:00:00",
    ),
    # Christmas and New Year in NSW
    (
        "xmas-1",
        "+1 business day at 09:00",
        "2026-12-24T15:00+11:00",
        "syd",
        None,
        "2026-12-28 22:00:00",
    ),
    (
        "xmas-3",
        "+3 business days at 09:00",
        "2026-12-24T15:00+11:00",
        "syd",
        None,
        "2026-12-30 22:00:00",
    ),
    (
        "xmas-4-new-year",
        "+4 business days at 09:00",
        "2026-12-24T15:00+11:00",
        "syd",
        None,
        "2027-01-03 22:00:00",
    ),
    (
        "xmas-back",
        "-1 business day at 09:00",
        "2026-12-29T10:00+11:00",
        "syd",
        None,
        "2026-12-23 22:00:00",
    ),
    ("boxing-day", "+1 business day", "2026-12-26T10:00+11:00", "syd", None, "2026-12-28 23:00:00"),
    (
        "closures",
        "+1 business day at 09:00",
        "2026-12-24T15:00+11:00",
        "syd_closed",
        None,
        "2027-01-03 22:00:00",
    ),
    (
        "closures-back",
        "-2 business days from {{ d }} at 09:00",
        WED,
        "syd_closed",
        "2027-01-05",
        "2026-12-23 22:00:00",
    ),
    # UK and US holidays
    (
        "uk-easter",
        "+1 business day at 09:00",
        "2026-04-02T16:00+01:00",
        "lon",
        None,
        "2026-04-07 08:00:00",
    ),
    (
        "uk-christmas",
        "+1 business day at 10:00",
        "2026-12-24T12:00+00:00",
        "lon",
        None,
        "2026-12-29 10:00:00",
    ),
    (
        "us-july-4th",
        "+1 business day at 09:00",
        "2026-07-02T10:00-07:00",
        "la",
        None,
        "2026-07-06 16:00:00",
    ),
    (
        "us-thanksgiving",
        "+1 business day at 09:00",
        "2026-11-25T10:00-08:00",
        "la",
        None,
        "2026-11-27 17:00:00",
    ),
    (
        "us-juneteenth",
        "+3 business days at 09:00",
        "2026-06-17T04:30+00:00",
        "la",
        None,
        "2026-06-22 16:00:00",
    ),
    # One instant, three venues: the local date differs
    (
        "tz-sydney",
        "tomorrow at 09:00",
        "2026-06-17T04:30+00:00",
        "syd",
        None,
        "2026-06-17 23:00:00",
    ),
    (
        "tz-london",
        "tomorrow at 09:00",
        "2026-06-17T04:30+00:00",
        "lon",
        None,
        "2026-06-18 08:00:00",
    ),
    (
        "tz-los-angeles",
        "tomorrow at 09:00",
        "2026-06-17T04:30+00:00",
        "la",
        None,
        "2026-06-17 16:00:00",
    ),
    (
        "tz-la-bd",
        "+2 business days at 09:00",
        "2026-06-17T04:30+00:00",
        "la",
        None,
        "2026-06-18 16:00:00",
    ),
    (
        "other-workdays",
        "+1 business day at 09:00",
        "2026-06-18T10:00+04:00",
        "dubai",
        None,
        "2026-06-21 05:00:00",
    ),
    # Daylight saving: Sydney ends 2026-04-05 03:00 -> 02:00
    (
        "syd-fold-first",
        "tomorrow at 02:30",
        "2026-04-04T10:00+11:00",
        "syd",
        None,
        "2026-04-04 15:30:00",
    ),
    ("syd-end-24h", "+24 hours", "2026-04-04T10:00+11:00", "syd", None, "2026-04-04 23:00:00"),
    ("syd-end-1d", "+1 day", "2026-04-04T10:00+11:00", "syd", None, "2026-04-05 00:00:00"),
    (
        "syd-end-1d-at",
        "+1 day at 09:00",
        "2026-04-04T10:00+11:00",
        "syd",
        None,
        "2026-04-04 23:00:00",
    ),
    # Sydney starts 2026-10-04 02:00 -> 03:00
    ("syd-gap", "tomorrow at 02:30", "2026-10-03T10:00+10:00", "syd", None, "2026-10-03 16:00:00"),
    (
        "syd-gap-start",
        "tomorrow at 02:00",
        "2026-10-03T10:00+10:00",
        "syd",
        None,
        "2026-10-03 16:00:00",
    ),
    (
        "syd-before-gap",
        "tomorrow at 01:59",
        "2026-10-03T10:00+10:00",
        "syd",
        None,
        "2026-10-03 15:59:00",
    ),
    ("syd-start-24h", "+24 hours", "2026-10-03T10:00+10:00", "syd", None, "2026-10-04 00:00:00"),
    ("syd-start-1d", "+1 day", "2026-10-03T10:00+10:00", "syd", None, "2026-10-03 23:00:00"),
    (
        "syd-gap-from-date",
        "-1 day from {{ d }} at 02:30",
        WED,
        "syd",
        "2026-10-05",
        "2026-10-03 16:00:00",
    ),
    # London starts 2026-03-29 01:00 -> 02:00, ends 2026-10-25 02:00 -> 01:00
    ("lon-gap", "tomorrow at 01:30", "2026-03-28T12:00+00:00", "lon", None, "2026-03-29 01:00:00"),
    ("lon-start-24h", "+24 hours", "2026-03-28T12:00+00:00", "lon", None, "2026-03-29 12:00:00"),
    ("lon-start-1d", "+1 day", "2026-03-28T12:00+00:00", "lon", None, "2026-03-29 11:00:00"),
    (
        "lon-fold-first",
        "tomorrow at 01:30",
        "2026-10-24T12:00+01:00",
        "lon",
        None,
        "2026-10-25 00:30:00",
    ),
    ("lon-end-24h", "+24 hours", "2026-10-24T12:00+01:00", "lon", None, "2026-10-25 11:00:00"),
    ("lon-end-1d", "+1 day", "2026-10-24T12:00+01:00", "lon", None, "2026-10-25 12:00:00"),
    ("lon-hour-into-fold", "+1 hour", "2026-10-25T01:30+01:00", "lon", None, "2026-10-25 01:30:00"),
    (
        "la-start-1d-at",
        "+1 day at 09:00",
        "2026-03-07T09:00-08:00",
        "la",
        None,
        "2026-03-08 16:00:00",
    ),
    # An explicit base
    (
        "base-date",
        "-7 days from {{ data.dateEventStart }} at 09:00",
        WED,
        "syd",
        "2026-12-20",
        "2026-12-12 22:00:00",
    ),
    (
        "base-literal",
        "-7 days from 2026-12-20 at 09:00",
        WED,
        "syd",
        "2026-12-20",
        "2026-12-12 22:00:00",
    ),
    (
        "base-ivvy",
        "-7 days from {{ data.dateEventStart }} at 09:00",
        WED,
        "syd",
        "2026-12-19 22:00:00",
        "2026-12-12 22:00:00",
    ),
    (
        "base-ivvy-utc-keeps-time",
        "-7 days from {{ d }}",
        WED,
        "syd",
        "2026-12-19 13:30:00 UTC",
        "2026-12-12 13:30:00",
    ),
    (
        "base-ivvy-local-date",
        "-1 day from {{ d }} at 09:00",
        WED,
        "syd",
        "2026-12-19 12:00:00",
        "2026-12-17 22:00:00",
    ),
    (
        "base-bd",
        "-2 business days from {{ data.paymentDueDate }}",
        WED,
        "syd",
        "2027-01-05",
        "2026-12-30 13:00:00",
    ),
    (
        "base-iso-offset",
        "+2 hours from {{ d }}",
        WED,
        "syd",
        "2026-12-20T09:00:00+11:00",
        "2026-12-20 00:00:00",
    ),
    (
        "base-iso-z",
        "-7 days from {{ d }} at 09:00",
        WED,
        "syd",
        "2026-12-19T22:00:00Z",
        "2026-12-12 22:00:00",
    ),
    (
        "base-padded",
        "-7 days from {{ d }} at 09:00",
        WED,
        "syd",
        " 2026-12-20 ",
        "2026-12-12 22:00:00",
    ),
    (
        "base-at-first",
        "-7 days at 09:00 from {{ d }}",
        WED,
        "syd",
        "2026-12-20",
        "2026-12-12 22:00:00",
    ),
    (
        "base-london",
        "-7 days from {{ d }} at 09:00",
        WED,
        "lon",
        "2026-12-20",
        "2026-12-13 09:00:00",
    ),
    ("base-la", "-7 days from {{ d }} at 09:00", WED, "la", "2026-12-20", "2026-12-13 17:00:00"),
    # Snapping to working hours (09:00-17:00 unless said)
    ("snap-evening", "+4 hours", WED, "syd_snap", None, "2026-06-17 23:00:00"),
    ("snap-inside", "+4 hours", "2026-06-17T10:00+10:00", "syd_snap", None, "2026-06-17 04:00:00"),
    (
        "snap-end-inclusive",
        "+30 minutes",
        "2026-06-17T16:30+10:00",
        "syd_snap",
        None,
        "2026-06-17 07:00:00",
    ),
    ("snap-early", "+1 hour", "2026-06-17T06:00+10:00", "syd_snap", None, "2026-06-16 23:00:00"),
    ("snap-weekend", "+1 day", "2026-06-19T14:30+10:00", "syd_snap", None, "2026-06-21 23:00:00"),
    (
        "snap-at-kept",
        "+1 day at 18:00",
        "2026-06-15T10:00+10:00",
        "syd_snap",
        None,
        "2026-06-16 08:00:00",
    ),
    ("snap-at-early-kept", "today at 07:00", WED, "syd_snap", None, "2026-06-16 21:00:00"),
    (
        "snap-at-moved-day",
        "+1 day at 10:00",
        "2026-06-19T14:30+10:00",
        "syd_snap",
        None,
        "2026-06-21 23:00:00",
    ),
    ("snap-now-saturday", "now", "2026-06-20T11:00+10:00", "syd_snap", None, "2026-06-21 23:00:00"),
    (
        "snap-christmas",
        "+4 hours",
        "2026-12-24T15:00+11:00",
        "syd_snap",
        None,
        "2026-12-28 22:00:00",
    ),
    (
        "snap-bd-evening",
        "+1 business day",
        "2026-06-19T20:00+10:00",
        "syd_snap",
        None,
        "2026-06-22 23:00:00",
    ),
    (
        "snap-short-hours",
        "+1 hour",
        "2026-06-17T15:30+10:00",
        "syd_short",
        None,
        "2026-06-17 22:30:00",
    ),
]


@pytest.mark.parametrize(
    ("expression", "now", "calendar", "base", "expected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_compute_due(
    expression: str, now: str, calendar: str, base: str | None, expected: str
) -> None:
    cal = CALENDARS[calendar]
    due = compute_due(
        parse_due(expression), now=datetime.fromisoformat(now), calendar=cal, base=base
    )
    assert to_ivvy_utc(due) == expected
    assert due.tzinfo is cal.tz


def test_fold_result_is_first_occurrence_in_local_time() -> None:
    due = compute_due(
        parse_due("tomorrow at 01:30"),
        now=datetime.fromisoformat("2026-10-24T12:00+01:00"),
        calendar=CALENDARS["lon"],
    )
    assert (due.hour, due.minute, due.fold, due.tzname()) == (1, 30, 0, "BST")


def test_gap_result_is_the_moment_clocks_change() -> None:
    due = compute_due(
        parse_due("tomorrow at 02:30"),
        now=datetime.fromisoformat("2026-10-03T10:00+10:00"),
        calendar=CALENDARS["syd"],
    )
    assert (due.hour, due.minute, due.tzname()) == (3, 0, "AEDT")


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        ("2026-12-20T09:00:00+11:00", "2026-12-19 22:00:00"),
        ("2026-06-17T04:30:59.999999+00:00", "2026-06-17 04:30:59"),
        ("2026-03-08T01:00:00-08:00", "2026-03-08 09:00:00"),
    ],
)
def test_to_ivvy_utc(dt: str, expected: str) -> None:
    assert to_ivvy_utc(datetime.fromisoformat(dt)) == expected


def test_to_ivvy_utc_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ivvy_utc(datetime(2026, 6, 17, 9))
