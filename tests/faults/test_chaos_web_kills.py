"""Gunicorn workers SIGKILLed every half second under load from 16 senders: every delivery that
got a 2xx is stored exactly once, with exactly one job (reliability section 6 A.1).

Short by default; ``BRIDGE_CHAOS_LONG=1`` runs the reference's full minute.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from bench import chaos, stack
from bench.senders import Senders
from bridge.store.db import build_engine

pytestmark = pytest.mark.slow

LOAD_SECONDS = 60 if chaos.LONG else 6


def test_acknowledged_deliveries_survive_killed_web_workers(
    tmp_path: Path, database_url: str
) -> None:
    config = stack.bench_config(tmp_path, "http://127.0.0.1:9")  # ingest only: no iVvy
    env = stack.bridge_env(database_url, config)
    web, url = stack.start_bridge_web(env, tmp_path / "web.log", workers=4)
    senders = Senders(f"{url}/hooks/typeform-form", "kill", threads=16, timeout=20)
    chooser = random.Random(20240501)
    kills = 0
    try:
        senders.start()
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.5)
            workers = web.children()
            if workers:
                try:
                    os.kill(chooser.choice(workers), signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass  # gone already: gunicorn is replacing it
        senders.finish(timeout=60)  # every delivery in flight retried until it is acked
    finally:
        senders.stop()
        web.stop()

    deliveries = senders.deliveries
    assert kills >= LOAD_SECONDS * 2 - 2
    assert senders.statuses[0] > 0, "no request was cut off by a kill: the fault never landed"
    assert set(senders.statuses) <= {0, 200, 202}, senders.statuses
    unacked = [d.external_id for d in deliveries.values() if d.acked_event is None]
    assert unacked == []

    engine = build_engine(database_url)
    try:
        stored = chaos.stored_events(engine)
        integrity = chaos.sqlite_integrity(engine)
    finally:
        engine.dispose()
    wrong = {
        d.external_id: stored.get(d.external_id)
        for d in deliveries.values()
        if stored.get(d.external_id) != [(d.acked_event, 1)]
    }
    assert wrong == {}, "acked deliveries not stored exactly once with exactly one job"
    assert set(stored) == set(deliveries)  # nothing stored that was never sent
    assert integrity == "ok"
    # A delivery acked as a duplicate was committed by a worker killed before it answered.
    print(
        f"{len(deliveries)} deliveries, {kills} kills, "
        f"{sum(d.duplicate_ack for d in deliveries.values())} acked as duplicates after a kill"
    )
