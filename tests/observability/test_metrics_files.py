"""/metrics while another process is creating its file: that file is skipped, not a 500.

prometheus_client opens a process's file empty and sizes it a moment later; a worker process
starting while Prometheus (or the observability test) scrapes can be caught in between.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from bridge import create_app
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET
from bridge.metrics_dir import MULTIPROC_ENV
from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.observability.scrape import value
from tests.support.configs import TOKEN, write_config


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
