"""/metrics through gunicorn with several workers and a worker process: the numbers add up."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bridge.ivvy.sandbox import SandboxServer
from tests.observability.scrape import scrape, value
from tests.support.configs import TOKEN
from tests.support.processes import BridgeProcess, start_web, wait_for

BATCH = 8


def _post(url: str, path: str, body: bytes, content_type: str, token: str) -> int:
    response = requests.post(
        f"{url}{path}",
        data=body,
        headers={"X-Bridge-Token": token, "Content-Type": content_type},
        timeout=10,
    )
    return response.status_code


def _enquiry(n: int) -> bytes:
    return (
        b'{"id": "m-%d", "first_name": "Ann", "last_name": "Lee", "email": "ann%d@example.org"}'
        % (n, n)
    )


def _counting_pids(metrics_dir: Path) -> set[str]:
    """The processes that have written a counter file so far."""
    return {
        m.group(1) for p in metrics_dir.iterdir() if (m := re.match(r"counter_(\d+)\.db", p.name))
    }


def test_counters_add_up_across_gunicorn_workers_and_the_worker_process(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    metrics_dir = tmp_path / "metrics"
    env = {
        **bridge_env,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "BRIDGE_MAX_BODY_BYTES": "4096",
    }
    web, url = start_web(env, tmp_path / "web.log", workers=3)
    json_type = "application/json"
    site, nowhere = "/hooks/website", "/hooks/nowhere"
    sends = (
        [(site, _enquiry(0), json_type, TOKEN)] * 2
        + [(site, _enquiry(9), json_type, "wrong")] * 3
        + [(nowhere, _enquiry(9), json_type, TOKEN)] * 2
        + [(site, b"<a/>", "text/xml", TOKEN)]
        + [(site, b"{" + b" " * 5000 + b"}", json_type, TOKEN)]
        + [(site, b"{not json", json_type, TOKEN)] * 2
    )
    worker = None
    try:
        # The kernel decides which worker accepts a connection: send distinct enquiries in
        # concurrent batches until at least two workers have counted some (bounded).
        accepted = 0
        with ThreadPoolExecutor(BATCH) as pool:
            for _ in range(40):
                batch = [(site, _enquiry(accepted + i), json_type, TOKEN) for i in range(BATCH)]
                statuses = list(pool.map(lambda send: _post(url, *send), batch))
                assert statuses == [202] * BATCH, statuses
                accepted += BATCH
                if len(_counting_pids(metrics_dir)) >= 2:
                    break
            # Duplicates of enquiry 0 and the refusals, after enquiry 0 was accepted.
            statuses = list(pool.map(lambda send: _post(url, *send), sends))
        assert statuses.count(200) == 2 and 202 not in statuses, statuses

        expected = {
            ("bridge_webhooks_accepted_total", "website", None): accepted,
            ("bridge_webhooks_duplicate_total", "website", None): 2,
            ("bridge_webhooks_rejected_total", "website", "unauthorized"): 3,
            ("bridge_webhooks_rejected_total", "unknown", "unknown_source"): 2,
            ("bridge_webhooks_rejected_total", "website", "unsupported_type"): 1,
            ("bridge_webhooks_rejected_total", "website", "too_large"): 1,
            ("bridge_webhooks_rejected_total", "website", "invalid"): 2,
        }
        for _ in range(8):  # whichever worker answers, the same totals
            samples = scrape(url)
            for (name, source, reason), count in expected.items():
                labels = {"source": source, **({"reason": reason} if reason else {})}
                assert value(samples, name, **labels) == count, (name, labels)
            assert value(samples, "bridge_queue_depth") == accepted
            assert value(samples, "bridge_queue_oldest_waiting_seconds") > 0
            assert value(samples, "bridge_database_up") == 1
        assert len(_counting_pids(metrics_dir)) >= 2, "no second worker answered in 320 requests"

        worker = BridgeProcess(["worker"], env, tmp_path / "worker.log")
        # A task is counted, then its latency observed: a scrape can fall between the two.
        samples = wait_for(
            lambda: (
                (s := scrape(url))
                and value(s, "bridge_tasks_created_total", source="website") == accepted
                and value(s, "bridge_delivery_latency_seconds_count", source="website") == accepted
                and s
            ),
            timeout=60,
        )
        task_calls = value(
            samples, "bridge_ivvy_call_seconds_count", call="crm.addOrUpdateTask", outcome="ok"
        )
        assert task_calls == accepted
        assert value(samples, "bridge_queue_depth") == 0
        assert value(samples, "bridge_jobs", state="dead") == 0
        for failure in ("transient", "dead", "delivery", "internal"):
            assert value(samples, "bridge_failures_total", **{"class": failure}) == 0
    finally:
        if worker is not None:
            assert worker.stop() == 0, worker.output()
        web.stop()
