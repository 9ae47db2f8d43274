"""The Quick start's first command: `bridge sandbox` shows a task for the example payload."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]


def test_bridge_sandbox_turns_the_example_payload_into_a_task(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "sandbox.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bridge.cli",
                "sandbox",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "var"),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        printed = wait_for(
            lambda: re.search(r"(http://127\.0\.0\.1:\d+)/_sandbox/tasks", log_path.read_text()),
            timeout=60,
        )
        ivvy_url = printed.group(1)
        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/hooks/website" in output  # the ready curl line

        payload = (REPO / "examples/payloads/website-enquiry.json").read_bytes()
        response = requests.post(
            f"http://127.0.0.1:{port}/hooks/website",
            data=payload,
            headers={"X-Bridge-Token": "sandbox-token", "Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        tasks = wait_for(lambda: requests.get(f"{ivvy_url}/_sandbox/tasks", timeout=5).json())
        assert [task["name"] for task in tasks] == ["Call Priya about their enquiry"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0, log_path.read_text()
