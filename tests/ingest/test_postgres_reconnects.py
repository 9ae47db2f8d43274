"""PostgreSQL connections that died in the pool: the door still stores and answers 2xx.

Reliability criterion 21 (a PostgreSQL restart costs no acknowledged delivery and no person)
without a ping per webhook.  The pool pings only a connection idle longer than
``IDLE_PING_SECONDS`` (``store.db``).  A connection dies here as in a restart, from the
server's side: ``pg_terminate_backend`` on every backend of the test's database but the
test's own.  The real app, in this process.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url

from bridge.store.db import IDLE_PING_SECONDS
from bridge.store.tables import dedupe_keys, events, jobs
from tests.ingest.door import Door, open_door

pytestmark = pytest.mark.postgres

RETRY_WARNING = "database connection lost while accepting a delivery; trying once more"


@contextmanager
def admin_on(database_url: str) -> Iterator[Connection]:
    """A connection of the test's own on the bridge's database (spared by ``kill_others``)."""
    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def kill_others(admin: Connection) -> int:
    """Terminate every other backend on this database, as a restart would; how many."""
    killed = admin.execute(
        text(
            "SELECT count(*) FROM ("
            " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t"
        )
    ).scalar_one()
    # pg_terminate_backend only signals: wait until the backends are gone.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = admin.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        if left == 0:
            return int(killed)
        time.sleep(0.02)
    raise AssertionError("backends still there 10 s after pg_terminate_backend")


def counts(admin: Connection) -> dict[str, int]:
    tables = {"events": events, "dedupe_keys": dedupe_keys, "jobs": jobs}
    return {
        name: admin.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in tables.items()
    }


def enquiry(door: Door, name: str) -> tuple[int, dict[str, object]]:
    body = json.dumps({"id": f"{name}-{uuid.uuid4().hex[:8]}", "first_name": name}).encode()
    answer = door.send("form", body)
    return answer.status_code, answer.json or {}


def retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for record in caplog.records if record.getMessage() == RETRY_WARNING)


def test_a_quiet_bridge_pings_its_idle_connection_and_needs_no_retry(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with open_door(tmp_path, postgres_url) as door, admin_on(postgres_url) as admin:
        assert enquiry(door, "warm")[0] == 202  # a pooled connection, returned at once

        # Idle beyond the threshold, then dead: the ping finds it so and the pool replaces
        # it, so the webhook gets its 202 on the first try ...
        time.sleep(IDLE_PING_SECONDS + 0.3)
        assert kill_others(admin) >= 1
        with caplog.at_level(logging.WARNING):
            status, answer = enquiry(door, "quiet")
        assert status == 202, answer
        assert retries(caplog) == 0

        # ... and so does a read that has no retry of its own (readiness).
        time.sleep(IDLE_PING_SECONDS + 0.3)
        assert kill_others(admin) >= 1
        ready = door.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert counts(admin) == {"events": 2, "dedupe_keys": 2, "jobs": 2}
