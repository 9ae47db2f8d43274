"""A database that refuses writes: 503 in the envelope, nothing half-stored, then exactly once."""

from __future__ import annotations

import sqlite3

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.ingest.running_bridge import RunningBridge, StartBridge
from tests.support.configs import TOKEN

ENQUIRY = {"id": "enquiry-refused-1", "first_name": "Ana", "email": "ana@example.org"}

# The job insert is the last write of an accepted delivery: refusing it proves that the event
# and its dedupe key, written before it in the same transaction, are rolled back with it.
REFUSE_JOBS = {
    "sqlite": [
        "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs "
        "BEGIN SELECT RAISE(ABORT, 'jobs refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'jobs refused by the test' USING ERRCODE = 'insufficient_privilege'; "
        "END $$",
        "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION refuse_jobs()",
    ],
}
ALLOW_JOBS = {
    "sqlite": ["DROP TRIGGER refuse_jobs"],
    "postgresql": ["DROP TRIGGER refuse_jobs ON jobs", "DROP FUNCTION refuse_jobs()"],
}


def post(bridge: RunningBridge) -> requests.Response:
    return requests.post(
        bridge.hook("website"), json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=60
    )


def run_ddl(bridge: RunningBridge, statements: dict[str, list[str]]) -> None:
    with bridge.engine.begin() as conn:
        for statement in statements[conn.dialect.name]:
            conn.execute(text(statement))


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert "refused" not in error["message"]  # the database's own words stay in the log


def assert_accepted_exactly_once(bridge: RunningBridge) -> None:
    accepted = post(bridge)
    assert accepted.status_code == 202, accepted.text
    again = post(bridge)
    assert again.status_code == 200
    assert again.json() == {"event": accepted.json()["event"], "duplicate": True}
    assert bridge.counts() == {"events": 1, "dedupe_keys": 1, "jobs": 1}


def test_a_refused_job_insert_answers_503_and_stores_nothing(start_bridge: StartBridge) -> None:
    bridge = start_bridge(workers=1)
    run_ddl(bridge, REFUSE_JOBS)

    for _ in range(2):  # a sender's retry meets the same refusal, not a "duplicate"
        assert_unavailable(post(bridge))
    assert bridge.counts() == {"events": 0, "dedupe_keys": 0, "jobs": 0}

    run_ddl(bridge, ALLOW_JOBS)
    assert_accepted_exactly_once(bridge)
    assert bridge.events_without_a_job() == []


@pytest.mark.slow
def test_a_locked_sqlite_database_answers_503_after_the_busy_timeout(
    start_sqlite_bridge: StartBridge,
) -> None:
    bridge = start_sqlite_bridge(workers=1)
    path = make_url(bridge.database_url).database
    assert path
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # held for longer than the bridge's busy_timeout
        assert_unavailable(post(bridge))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert bridge.counts() == {"events": 0, "dedupe_keys": 0, "jobs": 0}
    assert_accepted_exactly_once(bridge)
