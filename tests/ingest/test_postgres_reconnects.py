"""PostgreSQL connections that died in the pool: the door still stores and answers 2xx.

Reliability criterion 21 (a PostgreSQL restart costs no acknowledged delivery and no person)
without a ping per webhook.  The pool pings only a connection idle longer than
``IDLE_PING_SECONDS`` (``store.db``); a webhook whose connection, used within that time,
turns out dead is written once more on a new one (``store.inbox``).  A connection dies here
as in a restart, from the server's side: ``pg_terminate_backend`` on every backend of the
test's database but the test's own, or a relay that cuts it.  The real app, in this process.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url

from bridge.store.db import IDLE_PING_SECONDS
from bridge.store.tables import dedupe_keys, events, jobs
from tests.ingest.door import Door, open_door

pytestmark = pytest.mark.postgres

# Longer than any test here takes: no pooled connection gets pinged, whatever the machine's load.
NEVER = 3600.0
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
    killed = (
        admin.execute(
            text(
                # Materialized: the filter runs first; no other database's backend is touched.
                "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid())"
                " SELECT array_agg(pid) FROM victims WHERE pg_terminate_backend(pid)"
            )
        ).scalar_one()
        or []
    )
    # pg_terminate_backend only signals: wait until those backends are gone.  New ones may
    # come meanwhile (a busy door's notices reconnect: store.job_notices); they live.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = admin.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
            {"pids": killed},
        ).scalar_one()
        if left == 0:
            return len(killed)
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


def test_a_busy_bridge_writes_once_more_when_its_recent_connection_is_dead(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The threshold is beyond the test's length: the connection counts as just used, as
    # under load, and is not pinged; the accept's own retry is what gets the 202.
    with (
        open_door(tmp_path, postgres_url, idle_ping_seconds=NEVER) as door,
        admin_on(postgres_url) as admin,
    ):
        assert enquiry(door, "first")[0] == 202
        assert kill_others(admin) >= 1
        with caplog.at_level(logging.WARNING):
            status, answer = enquiry(door, "busy")
        assert status == 202, answer
        assert retries(caplog) == 1
        assert counts(admin) == {"events": 2, "dedupe_keys": 2, "jobs": 2}
        stored = admin.execute(select(events.c.id).where(events.c.id == answer["event"]))
        assert stored.scalar_one() == answer["event"]


class CuttingRelay:
    """A TCP relay to PostgreSQL that can lose one answer: the server's, after its commit.

    ``cut_answer_to(marker)``: the next client message holding ``marker`` is passed on, and
    the server's answer to it is not: both sides of that connection are closed the moment
    the answer's first bytes arrive.  PostgreSQL sends an autocommitted statement's answer
    only after it has committed (its results are buffered until ``Sync``, which commits),
    so what the relay loses is the answer to a stored write: the lost answer of a restart.
    """

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._marker: bytes | None = None
        self._lock = threading.Lock()
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_answer_to(self, marker: bytes) -> None:
        with self._lock:
            self._marker = marker

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            self._sockets += [client, server]
            doomed = threading.Event()
            threading.Thread(target=self._up, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, doomed), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, doomed: threading.Event) -> None:
        tail = b""
        while data := self._recv(client):
            with self._lock:
                if self._marker is not None and self._marker in tail + data:
                    self._marker = None
                    doomed.set()  # before passing it on: the answer cannot come sooner
            tail = data[-64:]
            try:
                server.sendall(data)
            except OSError:
                return
        server.close()

    def _down(self, server: socket.socket, client: socket.socket, doomed: threading.Event) -> None:
        while data := self._recv(server):
            if doomed.is_set():
                for sock in (client, server):
                    with suppress(OSError):  # the other side closed it first
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                self.cut.set()
                return
            try:
                client.sendall(data)
            except OSError:
                return
        client.close()

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""


def test_an_accept_whose_answer_was_lost_after_its_commit_answers_as_a_duplicate(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The first write commits and its answer never arrives (the connection is cut, as by a
    # restart at that moment); the retry on a new connection meets the stored dedupe key
    # and the sender gets the duplicate's answer: a 2xx with the stored event's id.
    url = make_url(postgres_url)
    relay = CuttingRelay(url.host or "127.0.0.1", url.port or 5432)
    relayed = url.set(host="127.0.0.1", port=relay.port, query={"sslmode": "disable"})
    try:
        with (
            open_door(
                tmp_path,
                relayed.render_as_string(hide_password=False),
                idle_ping_seconds=NEVER,
            ) as door,
            admin_on(postgres_url) as admin,
        ):
            relay.cut_answer_to(b"new_key")  # the accepting statement's first CTE
            with caplog.at_level(logging.WARNING):
                status, answer = enquiry(door, "lost")
            assert relay.cut.is_set()
            assert retries(caplog) == 1
            assert status == 200, answer
            assert answer["duplicate"] is True
            assert counts(admin) == {"events": 1, "dedupe_keys": 1, "jobs": 1}
            stored = admin.execute(select(events.c.id)).scalar_one()
            assert answer["event"] == stored
    finally:
        relay.close()
