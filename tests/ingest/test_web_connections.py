"""The web's PostgreSQL connections under load: one kept for each thread, not one per request.

When a web process's pool kept fewer connections than gunicorn gave it threads, each request
beyond the pool's size opened a connection of its own and closed it when done: 250-400 new
connections in ten seconds of saturated load (BENCHMARKS.md, "Ingest").  Here one web
process with eight threads takes sixteen senders' webhooks at once, and PostgreSQL's count
of sessions opened on the database says how many connections the process made meanwhile.
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

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.db import normalise_url
from bridge.store.migrate import upgrade
from tests.ingest.conftest import bridges
from tests.support.configs import TOKEN, write_config
from tests.support.databases import fresh_postgres_database
from tests.support.processes import BridgeProcess, free_port, wait_until_up

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


@pytest.mark.postgres
def test_a_web_process_under_load_keeps_one_connection_per_thread(
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
    # At most one for each thread, and the job notices' connection of its own.
    assert opened <= THREADS + 1, f"{opened} connections opened for {SENDERS * EACH} webhooks"


def test_serve_threads_reaches_gunicorn_and_the_app_as_one_number(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    # gunicorn's config and create_app's pool both read WEB_THREADS, so --threads sets it
    # for the process that becomes gunicorn (bridge serve execs it) rather than passing
    # gunicorn a flag of its own that the app would not see.
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.sqlite'}",
        "BRIDGE_CONFIG": str(write_config(tmp_path, ivvy_url=sandbox.url)),
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "WEBSITE_TOKEN": TOKEN,
    }
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    process = BridgeProcess([*args, "--threads", "3"], env, tmp_path / "web.log")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        environ = Path(f"/proc/{process.process.pid}/environ").read_bytes().split(b"\0")
    finally:
        process.stop()
    # Only this variable: the rest of a process's environment is not for a test's output.
    assert [entry for entry in environ if entry.startswith(b"WEB_THREADS=")] == [b"WEB_THREADS=3"]
