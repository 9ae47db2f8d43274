"""PostgreSQL restarted while 16 senders post (ingest side; reliability section 6 E.21): the
bridge answers 503 while it cannot store (never a 2xx, never a dropped connection), loses no
acknowledged delivery, and accepts again by itself once the server is back.

The worker side of a restart has its own test in this folder. The server is restarted with
``pg_ctlcluster`` and left running.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import chaos, stack
from bench.senders import Senders
from bridge.store.db import build_engine
from tests.support.databases import postgres_available, postgres_required

LOAD_SECONDS = 60 if chaos.LONG else 10
RESTART_AFTER = 20 if chaos.LONG else 3


def _restart_postgres() -> None:
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*"))
    if shutil.which("pg_ctlcluster") is None or not versions:
        message = "pg_ctlcluster is not here: the server cannot be restarted by this test"
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
        check=True,
        timeout=120,
    )


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own, dropped afterwards through a connection made after the
    restart (the shared fixture's admin connection would not survive it)."""
    problem = postgres_available()
    if problem is not None:
        if postgres_required():
            pytest.fail(f"PostgreSQL is not reachable: {problem}")
        pytest.skip(f"PostgreSQL is not reachable: {problem}")
    with stack.bridge_database("postgres", tmp_path) as url:
        yield url


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_restart_under_load_answers_503_and_loses_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    config = stack.bench_config(tmp_path, "http://127.0.0.1:9")  # ingest only: no iVvy
    env = stack.bridge_env(postgres_url, config)
    web, url = stack.start_bridge_web(env, tmp_path / "web.log", workers=2)
    senders = Senders(f"{url}/hooks/typeform-form", "pgrestart", threads=16, pause=0.1)
    try:
        senders.start()
        time.sleep(RESTART_AFTER)
        acked_before = len(senders.acked)
        _restart_postgres()
        back_at = time.monotonic()
        time.sleep(max(2.0, LOAD_SECONDS - RESTART_AFTER))
        senders.finish(timeout=60)
    finally:
        senders.stop()
        web.stop()

    deliveries = senders.deliveries
    assert acked_before > 0
    assert senders.statuses[503] > 0, "no request met the restart: the fault never landed"
    assert set(senders.statuses) <= {200, 202, 503}, senders.statuses
    assert [d.external_id for d in deliveries.values() if d.acked_event is None] == []
    assert any(d.acked_at is not None and d.acked_at > back_at for d in deliveries.values())

    engine = build_engine(postgres_url)
    try:
        stored = chaos.stored_events(engine)
    finally:
        engine.dispose()
    wrong = {
        d.external_id: stored.get(d.external_id)
        for d in deliveries.values()
        if stored.get(d.external_id) != [(d.acked_event, 1)]
    }
    assert wrong == {}, "acked deliveries not stored exactly once with exactly one job"
    assert set(stored) == set(deliveries)
    first_ack = min(d.acked_at for d in deliveries.values() if d.acked_at and d.acked_at > back_at)
    print(
        f"{len(deliveries)} deliveries, {senders.statuses[503]} answered 503 during the restart, "
        f"first ack {(first_ack - back_at) * 1000:.0f} ms after it"
    )
