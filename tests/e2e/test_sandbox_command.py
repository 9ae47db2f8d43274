"""The Quick start's first command: `bridge sandbox` shows a task for the example payload."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("admin_token", [None, "an-operators-own-admin-token"])
def test_bridge_sandbox_turns_the_example_payload_into_a_task(
    tmp_path: Path, admin_token: str | None
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_ADMIN_TOKEN"}
    if admin_token:
        env["BRIDGE_ADMIN_TOKEN"] = admin_token
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
            env={**env, "PYTHONUNBUFFERED": "1"},
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
        # The admin token printed is the one in force (the operator's when set).
        expected = admin_token or "sandbox-admin"
        assert f"admin token: {expected}\n" in output
        api = requests.get(
            f"http://127.0.0.1:{port}/api/events",
            headers={"Authorization": f"Bearer {expected}"},
            timeout=10,
        )
        assert api.status_code == 200, api.text

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


def test_ctrl_c_stops_it_cleanly_where_it_started_with_ctrl_c_ignored(tmp_path: Path) -> None:
    """As a script's background job starts: SIGINT ignored, yet the group's Ctrl-C stops all."""
    log_path = tmp_path / "sandbox.log"
    command = [sys.executable, "-m", "bridge.cli", "sandbox", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path / "var")]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    try:
        wait_for(lambda: "/_sandbox/tasks" in log_path.read_text(), timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0, log_path.read_text()
    assert "a process of the bridge stopped" not in log_path.read_text()
