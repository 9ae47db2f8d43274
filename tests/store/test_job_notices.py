"""The door's accepts tell PostgreSQL's listening workers of their jobs after committing,
from a thread of the process, several accepts per notice; none is left untold."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

from bridge.events import Event
from bridge.store.db import build_engine, libpq_conninfo
from bridge.store.inbox import accept
from bridge.store.job_notices import NOTIFY_CHANNEL, JobNotices, notices_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = build_engine(postgres_url, timeout_seconds=10)
    yield engine
    engine.dispose()


def conninfo(url: str, **parts: str) -> str:
    """The URL as libpq takes it (no SQLAlchemy driver name), with ``parts`` changed."""
    return libpq_conninfo(make_url(url).set(**parts))


@pytest.fixture
def listener(postgres_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(conninfo(postgres_url), autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield conn


def accept_one(engine: Engine, n: int) -> None:
    now = datetime.now(UTC)
    event = Event("website", "form", "form", f"n-{n}", now, {"first_name": "Guest"})
    accept(engine, event, f"n-{n}", headers={}, body=b"{}", content_type="text/plain", now=now)


def notices_until_quiet(listener: psycopg.Connection, quiet: float) -> list[float]:
    """When each notice arrived (monotonic), until none came for ``quiet`` seconds."""
    seen = []
    while True:
        got = list(listener.notifies(timeout=quiet, stop_after=1))
        if not got:
            return seen
        seen.append(time.monotonic())


def test_accepts_in_a_burst_share_notices_and_the_last_is_told(engine, listener):
    notices_for(engine).window = 0.5  # a burst of ten accepts takes far less than this
    arrived: list[float] = []  # when each notice reached the listener, as it came
    collector = threading.Thread(
        target=lambda: arrived.extend(time.monotonic() for _ in listener.notifies(timeout=3.0))
    )
    collector.start()
    for n in range(10):
        accept_one(engine, n)
    last_commit = time.monotonic()
    collector.join()
    # One notice in the accept's own statement, as before, made ten; a notice at once
    # for the first accept, then one for all that came within the window.
    assert 1 <= len(arrived) <= 3, arrived
    # A notice came after the last commit: the accepts made in the window after the first
    # notice were told too, not dropped with it.
    assert arrived[-1] > last_commit, (arrived, last_commit)


def test_an_accept_after_a_quiet_spell_is_told_at_once(engine, listener):
    notices_for(engine).window = 5.0
    accept_one(engine, 0)
    notices_until_quiet(listener, quiet=0.5)  # the notice for the first accept
    time.sleep(5.0)  # the window has passed: nothing held back
    started = time.monotonic()
    accept_one(engine, 1)
    arrived = notices_until_quiet(listener, quiet=1.0)
    assert len(arrived) == 1 and arrived[0] - started < 1.0


def test_the_sender_thread_ends_when_idle_and_comes_back(postgres_url, listener):
    notices = JobNotices(conninfo(postgres_url), window=0.01, idle=0.2)
    notices.committed()
    assert notices_until_quiet(listener, quiet=0.5)
    deadline = time.monotonic() + 5
    while notices.sending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not notices.sending
    notices.committed()
    assert notices.sending
    assert notices_until_quiet(listener, quiet=0.5)
    assert notices.sent == 2


def test_a_notice_that_cannot_be_sent_is_logged_and_the_sender_goes_on(
    postgres_url, listener, caplog
):
    gone = conninfo(postgres_url, database="bridge_no_such_database", password="s3cret-pw")
    notices = JobNotices(gone, window=0.01)
    with caplog.at_level(logging.WARNING, logger="bridge.store.job_notices"):
        notices.committed()
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.getMessage() for r in caplog.records] == [
        "could not notify the workers of new jobs: OperationalError"
    ]
    assert notices.sent == 0 and notices.sending
    assert "s3cret-pw" not in caplog.text
