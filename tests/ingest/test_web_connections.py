"""The web's PostgreSQL connections under load: the pool's five, not one per busy request.

When a web process's pool could open connections beyond its five, each request that found
the five in use opened one and closed it when done: 250-400 new connections in ten seconds
of saturated load (BENCHMARKS.md, "Ingest").  Here one web process with eight threads takes
sixteen senders' webhooks at once, and PostgreSQL's count of sessions opened on the database
says how many connections the process made meanwhile.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import normalise_url
from bridge.store.migrate import upgrade
from tests.ingest.conftest import bridges
from tests.support.configs import TOKEN
from tests.support.databases import fresh_postgres_database

pytestmark = pytest.mark.postgres

POOL = 5  # a web process's PostgreSQL connections (create_app)
THREADS = 8
SENDERS = 16
EACH = 30


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


def sessions_opened(conn: Connection) -> int:
    """Connections ever opened on this database, as PostgreSQL's statistics count them."""
    # A backend reports its session when it next flushes its statistics; one that ends
    # (a connection opened for one request and closed) always flushes as it ends.
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    count = conn.execute(
        text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    ).scalar_one()
    return int(count)


def test_a_web_process_under_load_opens_no_connection_beyond_its_pool(
    tmp_path: Path, sandbox: SandboxServer, postgres_url: str
) -> None:
    engine = create_engine(normalise_url(postgres_url), isolation_level="AUTOCOMMIT")
    statuses: list[int] = []
    lock = threading.Lock()

    def send(bridge_hook: str) -> None:
        with requests.Session() as session:
            for _ in range(EACH):
                answer = session.post(
                    bridge_hook,
                    json={"email": "load@example.com", "note": uuid.uuid4().hex},
                    headers={"X-Bridge-Token": TOKEN},
                    timeout=30,
                )
                with lock:
                    statuses.append(answer.status_code)

    try:
        with bridges(tmp_path, sandbox.url, postgres_url) as start, engine.connect() as admin:
            bridge = start(workers=1, WEB_THREADS=str(THREADS))
            before = sessions_opened(admin)
            senders = [
                threading.Thread(target=send, args=(bridge.hook("website"),))
                for _ in range(SENDERS)
            ]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
            opened = sessions_opened(admin) - before
    finally:
        engine.dispose()

    assert statuses == [202] * (SENDERS * EACH)
    # At most the pool's, and the job notices' connection of its own.
    assert opened <= POOL + 1, f"{opened} connections opened for {SENDERS * EACH} webhooks"
