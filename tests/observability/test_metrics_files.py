"""/metrics while another process is creating its file: that file is skipped, not a 500.

prometheus_client opens a process's file empty and sizes it a moment later; a worker process
starting while Prometheus (or the observability test) scrapes can be caught in between.  That
was the 500 seen in test_metrics.py under load (its traceback: ``struct.error`` in
``read_all_values_from_file``), and the reason gunicorn's preloading had been turned off.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from bridge import create_app
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.metrics_dir import MULTIPROC_ENV
from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.observability.scrape import value
from tests.support.configs import TOKEN, write_config
from tests.support.processes import start_web

WORKERS = 3


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_process_file_not_yet_sized_is_left_out_of_the_scrape(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # One process has counted three webhooks; another has just opened its file (empty).
    written = MmapedDict(str(metrics_dir / f"counter_{os.getpid()}.db"))
    key = mmap_key(
        "bridge_webhooks_accepted",
        "bridge_webhooks_accepted_total",
        ["source"],
        ["website"],
        "Webhook deliveries stored with a job.",
    )
    written.write_value(key, 3.0, 0.0)
    written.close()
    (metrics_dir / "counter_999999999.db").touch()

    monkeypatch.setenv(MULTIPROC_ENV, str(metrics_dir))
    monkeypatch.setenv("IVVY_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("IVVY_API_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    config = write_config(tmp_path, ivvy_url="http://127.0.0.1:9")
    runtime = Runtime.from_env(Settings(database_url=sqlite_url, config_path=str(config)))
    app = create_app(runtime=runtime)
    try:
        response = app.test_client().get("/metrics")
        assert response.status_code == 200, response.get_data(as_text=True)
        samples = _samples(response.get_data(as_text=True))
        assert value(samples, "bridge_webhooks_accepted_total", source="website") == 3
        assert value(samples, "bridge_database_up") == 1
    finally:
        runtime.database.dispose()


def test_preloaded_gunicorn_workers_scrape_beside_a_file_not_yet_sized(
    tmp_path: Path, sqlite_url: str, sandbox: SandboxServer
) -> None:
    # The served app as deployed (preloaded, gc.freeze before each fork), several workers,
    # each one's first request a scrape, all at once, while a process's file is still empty.
    metrics_dir = tmp_path / "metrics"
    env = {
        "DATABASE_URL": sqlite_url,
        "BRIDGE_CONFIG": str(write_config(tmp_path, ivvy_url=sandbox.url)),
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "WEBSITE_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    web, url = start_web(env, tmp_path / "web.log", workers=WORKERS)
    try:
        # After the start: ``bridge serve`` removes the files of processes not running.
        (metrics_dir / "histogram_999999999.db").touch()
        with ThreadPoolExecutor(WORKERS * 4) as pool:
            answers = list(
                pool.map(lambda _: requests.get(f"{url}/metrics", timeout=30), range(WORKERS * 4))
            )
        assert [a.status_code for a in answers] == [200] * len(answers), web.output()
        assert all("bridge_database_up 1.0" in a.text for a in answers)
    finally:
        web.stop()
