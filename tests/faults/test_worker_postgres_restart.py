"""PostgreSQL goes down and comes back while events flow (worker side; reliability 6 E.21): ingest
answers 503 while it cannot store, every accepted event still becomes exactly one task, and the
worker carries on by itself (idle-connection ping and pool invalidation, LISTEN reconnect,
lease reclaim).

The server stopped and started here is a throwaway cluster of its own (``pg_createcluster``),
so other tests using the shared server are not disturbed; it is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.db import build_engine
from bridge.store.migrate import upgrade
from tests.faults.support import (
    job_states,
    process_env,
    tasks_per_event,
    wait_until,
    write_fault_config,
)
from tests.support.configs import TOKEN
from tests.support.databases import postgres_required
from tests.support.processes import BridgeProcess, free_port, start_web


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, list[str]]]:
    """A new PostgreSQL cluster on a free port: its URL and the pg_ctlcluster arguments."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if shutil.which("pg_createcluster") is None or not versions or os.geteuid() != 0:
        message = "needs root and pg_createcluster to run a PostgreSQL server of its own"
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    name, port = f"bridge_faults_{uuid.uuid4().hex[:8]}", free_port()
    create = ["pg_createcluster", versions[-1], name, "-p", str(port), "--start"]
    subprocess.run([*create, "--", "--auth=trust", "--no-sync"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", [versions[-1], name]
    finally:
        subprocess.run(["pg_dropcluster", *[versions[-1], name], "--stop"], capture_output=True)


def control(cluster: list[str], action: str) -> None:
    """Stop or start the cluster."""
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action], check=True)


class Sender(threading.Thread):
    """Posts one new enquiry after another, each until it gets a 2xx; keeps every status."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.accepted: dict[int, str] = {}  # enquiry number -> event id
        self.halt = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.halt.is_set():
            body = {"id": f"pg-{number}", "first_name": "Guest", "email": f"g{number}@example.org"}
            try:
                response = requests.post(
                    self.url, json=body, headers={"X-Bridge-Token": TOKEN}, timeout=10
                )
            except requests.RequestException:
                self.statuses[0] += 1  # no answer at all: must never happen
                time.sleep(0.05)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code in (200, 202):
                self.accepted[number] = response.json()["event"]
                number += 1
            time.sleep(0.02)


@pytest.mark.postgres
def test_the_worker_carries_on_after_postgres_comes_back(
    tmp_path: Path, sandbox: SandboxServer, own_cluster: tuple[str, list[str]]
) -> None:
    url, cluster = own_cluster
    upgrade(url)
    env = process_env(write_fault_config(tmp_path, sandbox.url), url)
    web, base = start_web(env, tmp_path / "web.log", workers=2)
    worker = BridgeProcess(["worker"], env, tmp_path / "worker.log")
    sender = Sender(f"{base}/hooks/website")
    try:
        wait_until(lambda: "worker started" in worker.output(), 30, "the worker up")
        sender.start()
        wait_until(lambda: len(sender.accepted) >= 10, 30, "ten events accepted")
        control(cluster, "stop")
        wait_until(lambda: sender.statuses[503] >= 5, 30, "ingest answering 503")
        # Down long enough for every worker thread to meet the outage (they poll each second).
        wait_until(lambda: "database unavailable" in worker.output(), 30, "the worker noticing")
        down = len(sender.accepted)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], check=True
        )
        wait_until(lambda: len(sender.accepted) >= down + 10, 60, "ten more accepted after")
    finally:
        sender.halt.set()
        sender.join(15)
    try:
        accepted = set(sender.accepted.values())
        wait_until(
            lambda: all(tasks_per_event(sandbox.url)[e] >= 1 for e in accepted),
            60,
            "a task for every accepted event",
            0.5,
        )
        # A job whose settlement the outage interrupted stays leased, and is taken again
        # (finding its task by the marker) once the lease runs out.
        engine = build_engine(url)
        try:
            wait_until(
                lambda: job_states(engine)["done"] == len(accepted),
                120,
                "every job done",
                0.5,
            )
        finally:
            engine.dispose()
        assert worker.process.poll() is None, "the worker must not die with its database"
    finally:
        assert worker.stop() == 0, worker.output()
        web.stop()
    # The outage reached the worker's listener too, which reconnected by itself.
    assert "listener disconnected; reconnecting" in worker.log_path.read_text()
    assert set(sender.statuses) <= {200, 202, 503}, sender.statuses
    assert sender.statuses[503] >= 5
    per_event = tasks_per_event(sandbox.url)
    assert {event_id: per_event[event_id] for event_id in accepted} == dict.fromkeys(accepted, 1)
    assert sum(per_event.values()) == len(accepted)
