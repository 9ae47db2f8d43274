"""The sandbox iVvy stopped for a while under load: nothing lost, nothing duplicated, and the
backlog drains by itself once iVvy is back (reliability section 6 D).

Short by default; ``BRIDGE_CHAOS_LONG=1`` keeps iVvy down for two minutes of 150 s of load.

The sleeps below are the scenario's durations (load, outage), never a wait for an outcome:
every outcome (load flowing, the worker failing against the stopped iVvy, the senders'
last answers, the drain) is waited for as a condition with a generous bound, so that a
loaded machine makes the test slower, not red.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench import chaos, stack
from bench.senders import Senders
from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from tests.support.processes import wait_for

# Generous bounds: only a bridge that never gets there reaches them.
DRAIN_TIMEOUT = 1200 if chaos.LONG else 600
SENDERS_TIMEOUT = 120  # deliveries in flight when the load ends get their answer
pytestmark = [pytest.mark.slow, pytest.mark.timeout(DRAIN_TIMEOUT + 600)]

# Long: iVvy down for two minutes of two and a half minutes of load (the case).
LOAD_SECONDS = 150 if chaos.LONG else 8
DOWN_AFTER = 10 if chaos.LONG else 2
DOWN_FOR = 120 if chaos.LONG else 4
# Retries must outlast the outage: up to 100 attempts, up to 5 s apart (~250 s), when long.
DELIVERY = (
    chaos.QUICK_DELIVERY.replace("max_attempts: 60", "max_attempts: 100").replace(
        "cap_seconds: 1", "cap_seconds: 5"
    )
    if chaos.LONG
    else chaos.QUICK_DELIVERY
)


def test_ivvy_down_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, database_url: str
) -> None:
    port = stack.free_port()
    ivvy = SandboxServer(port=port).start()
    config = stack.bench_config(
        tmp_path,
        ivvy.url,
        delivery=DELIVERY,
        ivvy_options=chaos.SHORT_IVVY_TIMEOUTS,
    )
    env = stack.bridge_env(database_url, config)
    web, url = stack.start_bridge_web(env, tmp_path / "web.log", workers=2)
    worker = stack.start_worker(env, tmp_path / "worker.log", concurrency=4)
    # Long: paced to ~80 deliveries/s, so that the backlog of two minutes (~10,000
    # events) drains within the test's wait; unpaced, 8 senders post ~430/s.
    senders = Senders(
        f"{url}/hooks/typeform-form", "down", threads=8, interval=0.1 if chaos.LONG else 0.0
    )
    engine = build_engine(database_url)
    try:
        senders.start()
        time.sleep(DOWN_AFTER)
        # Down under load: once deliveries are being stored (a slow start is waited for).
        wait_for(lambda: senders.acked, timeout=120, interval=0.1)
        state = ivvy.state
        ivvy.stop()  # connections refused from now on
        time.sleep(DOWN_FOR)
        # Up again only once the worker has met the outage: on a loaded machine it may
        # not have called iVvy within DOWN_FOR.  Its jobs then have the rest of their
        # attempts for the time iVvy stays down, which is DOWN_FOR at most.
        failed_while_down = wait_for(lambda: _failed_calls(engine), timeout=120, interval=0.1)
        ivvy = SandboxServer(state, port=port).start()  # the same iVvy, back at its address
        back_at = time.monotonic()
        time.sleep(max(0.0, LOAD_SECONDS - DOWN_AFTER - DOWN_FOR))
        senders.finish(timeout=SENDERS_TIMEOUT)
        acked = senders.acked
        # Every job settled, done or dead (a dead one fails the check below at once).
        wait_for(
            lambda: sum(chaos.job_states(engine)[s] for s in ("done", "dead")) >= len(acked),
            timeout=DRAIN_TIMEOUT,  # long: the backlog of two minutes drains
            interval=0.5,
        )
        drained_after = time.monotonic() - back_at
        states = chaos.job_states(engine)
        markers = chaos.markers_in_tasks(ivvy.url)
        stored = chaos.stored_events(engine)
    finally:
        senders.stop()
        worker.stop()
        web.stop()
        ivvy.stop()
        engine.dispose()

    assert failed_while_down > 0, "the worker never tried iVvy while it was down"
    assert len(acked) == len(senders.deliveries) > 0
    assert states == {"done": len(acked)}, states
    assert {d.external_id: stored.get(d.external_id) for d in acked} == {
        d.external_id: [(d.acked_event, 1)] for d in acked
    }
    event_ids = {d.acked_event for d in acked}
    per_event = {marker.split()[1]: count for marker, count in markers.items()}
    assert per_event == dict.fromkeys(event_ids, 1), "a task missing or duplicated"
    print(
        f"{len(acked)} events acked, {failed_while_down} iVvy calls failed while it was down, "
        f"every task created {drained_after:.0f} s after iVvy came back"
    )


def _failed_calls(engine: Engine) -> int:
    """iVvy calls the worker recorded as failed (no answer, or an error answer)."""
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM attempts WHERE error IS NOT NULL")).scalar_one()
        )
