"""The status pages' pure parts: list filters, durations, local times, iVvy links, host checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bridge.web.ui.auth import plain_http_on_localhost, session_key
from bridge.web.ui.explain import age, local_time, task_link
from bridge.web.ui.forms import EventFilters

SYDNEY = "Australia/Sydney"


def test_filters_read_days_in_the_account_timezone_both_inclusive() -> None:
    found = EventFilters.from_args(
        MultiDict({"since": "2025-03-04", "until": "2025-03-05", "q": " jo@x.example "}), SYDNEY
    )
    assert found.since == datetime(2025, 3, 3, 13, 0, tzinfo=UTC)  # midnight AEDT
    assert found.until == datetime(2025, 3, 5, 13, 0, tzinfo=UTC)  # end of the 5th
    assert found.q == "jo@x.example"
    assert found.problems == [] and found.active
    assert found.query_args(cursor="c") == {
        "q": "jo@x.example",
        "since": "2025-03-04",
        "until": "2025-03-05",
        "cursor": "c",
    }


def test_filters_ignore_what_they_cannot_read_and_say_so() -> None:
    found = EventFilters.from_args(
        MultiDict({"state": "exploded", "since": "yesterday", "until": "2025-13-01"}), SYDNEY
    )
    assert (found.state, found.since, found.until) == ("", None, None)
    assert len(found.problems) == 3
    assert not found.active
    assert found.query_args() == {}


def test_days_beyond_what_utc_can_hold_are_ignored_with_a_word_not_a_500() -> None:
    """0001-01-01 in Sydney starts before UTC's year 1; the day after 9999-12-31 does not exist."""
    found = EventFilters.from_args(
        MultiDict({"since": "0001-01-01", "until": "9999-12-31"}), SYDNEY
    )
    assert (found.since, found.until) == (None, None)
    assert len(found.problems) == 2
    west = EventFilters.from_args(MultiDict({"since": "0001-01-01"}), "America/New_York")
    assert west.since is not None and west.problems == []


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(None, "-"), (0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"),
     (3600, "1 h 0 min"), (3 * 3600 + 300, "3 h 5 min"), (86400 * 2 + 3600 * 4, "2 d 4 h")],
)  # fmt: skip
def test_age_in_words(seconds: float | None, words: str) -> None:
    assert age(seconds) == words


def test_local_time_in_the_account_timezone() -> None:
    assert local_time("2025-07-01T02:30:00+00:00", SYDNEY) == "2025-07-01 12:30:00 AEST"
    assert local_time(None, SYDNEY) == ""


@pytest.mark.parametrize(
    ("web_url", "task_id", "link"),
    [
        ("https://venue.ivvy.com", 42, "https://venue.ivvy.com/crm/task/view?id=42"),
        ("https://venue.ivvy.com/", 7, "https://venue.ivvy.com/crm/task/view?id=7"),
        (None, 42, None),
        ("https://venue.ivvy.com", None, None),
    ],
)
def test_task_links_only_with_a_web_address(
    web_url: str | None, task_id: int | None, link: str | None
) -> None:
    assert task_link(web_url, task_id) == link


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000/", True),
        ("http://localhost/", True),
        ("http://[::1]:8000/", True),
        ("https://127.0.0.1/", False),
        ("http://bridge.example/", False),
        ("http://127.0.0.1.evil.example/", False),
    ],
)
def test_plain_http_on_localhost(url: str, local: bool) -> None:
    request = Request(EnvironBuilder(base_url=url).get_environ())
    assert plain_http_on_localhost(request) is local


def test_the_session_key_follows_the_admin_token() -> None:
    assert session_key("token-a") == session_key("token-a")
    assert session_key("token-a") != session_key("token-b")
    assert b"token-a" not in session_key("token-a")
