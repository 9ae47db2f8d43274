"""Many copies of one delivery at once: one event, one job, every copy answered 2xx."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.ingest.running_bridge import StartBridge
from tests.support.configs import TOKEN

ENQUIRY = {
    "id": "enquiry-concurrent-7",
    "first_name": "Mei",
    "email": "mei@example.org",
    "message": "Conference for 300",
}
COPIES = 100
AT_ONCE = 20


def test_a_hundred_identical_deliveries_store_one_event_and_one_job(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge(workers=4)

    def deliver(_: int) -> requests.Response:
        with requests.Session() as session:
            return session.post(
                bridge.hook("website"), json=ENQUIRY, headers={"X-Bridge-Token": TOKEN}, timeout=60
            )

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        responses = list(pool.map(deliver, range(COPIES)))

    statuses = sorted(r.status_code for r in responses)
    refused = [r.text for r in responses if r.status_code >= 300]
    assert statuses == [200] * (COPIES - 1) + [202], refused
    first = next(r for r in responses if r.status_code == 202).json()
    assert set(first) == {"event"}
    for response in responses:
        if response.status_code == 200:
            assert response.json() == {"event": first["event"], "duplicate": True}

    assert bridge.counts() == {"events": 1, "dedupe_keys": 1, "jobs": 1}
    assert [row["id"] for row in bridge.events()] == [first["event"]]
    assert bridge.jobs_of(first["event"]) == 1
