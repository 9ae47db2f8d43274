"""`bridge sandbox` cannot hurt: a second one refuses before touching the first one's port or
data folder, and `--config` prints a curl that the config's source accepts.  Real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.commands._sandbox_curl import curl_for
from bridge.commands.sandbox import PROBE_IVVY_URL, sandbox_env
from bridge.config import load_config
from tests.support.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
SIGNED_CONFIG = """\
ivvy:
  base_url: ${IVVY_BASE_URL}
  key: ${IVVY_API_KEY}
  secret: ${IVVY_API_SECRET}
  timezone: Australia/Sydney
sources:
  calendly:
    type: calendly
    secrets: ["${TEST_CALENDLY_KEY}"]
  enquiries:
    type: typeform
    secrets: ["${TEST_TYPEFORM_SECRET}"]
rules: []
"""
SIGNED_ENV = {"TEST_CALENDLY_KEY": "cal-key-for-tests", "TEST_TYPEFORM_SECRET": "tf-secret-42"}


class Sandbox:
    """A `bridge sandbox` process in its own session, its output in a file."""

    def __init__(self, tmp: Path, name: str, args: list[str], env: dict[str, str] | None = None):
        self.log = tmp / f"{name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "sandbox", *args],
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self) -> str:
        """The sandbox iVvy's URL, once the banner is out."""
        found = wait_for(
            lambda: re.search(r"(http://127\.0\.0\.1:\d+)/_sandbox/tasks", self.output()),
            timeout=90,
        )
        return found.group(1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(60)


@pytest.fixture
def first(tmp_path: Path) -> Iterator[tuple[Sandbox, int, Path]]:
    port, data = free_port(), tmp_path / "first-data"
    sandbox = Sandbox(tmp_path, "first", ["--port", str(port), "--data-dir", str(data)])
    try:
        yield sandbox, port, data
    finally:
        assert sandbox.stop() == 0, sandbox.output()


def post_example(port: int) -> str:
    response = requests.post(
        f"http://127.0.0.1:{port}/hooks/website",
        data=(REPO / "examples/payloads/website-enquiry.json").read_bytes(),
        headers={"X-Bridge-Token": "sandbox-token", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    event_id: str = response.json()["event"]
    return event_id


def stored_events(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events")]


def test_a_second_sandbox_refuses_and_leaves_the_first_alone(
    tmp_path: Path, first: tuple[Sandbox, int, Path]
) -> None:
    sandbox, port, data = first
    ivvy_url = sandbox.wait_ready()
    banner = sandbox.output()
    database = (data / "sandbox.sqlite").resolve()
    assert str(database) in banner  # the banner says where the database is
    assert f"{ivvy_url}/_sandbox/tasks" in banner
    event_id = post_example(port)
    wait_for(lambda: requests.get(f"{ivvy_url}/_sandbox/tasks", timeout=5).json())

    # Same port, another folder: refused before the folder is even made.
    other_data = tmp_path / "second-data"
    second = Sandbox(tmp_path, "second", ["--port", str(port), "--data-dir", str(other_data)])
    assert second.proc.wait(60) == 1, second.output()
    said = second.output()
    assert f"bridge sandbox: port {port} is in use by pid " in said, said
    holder = int(re.search(r"in use by pid (\d+)", said).group(1))  # type: ignore[union-attr]
    assert "gunicorn" in Path(f"/proc/{holder}/cmdline").read_text()
    assert "The bridge is running" not in said
    assert not other_data.exists()

    # Another port, the same folder: refused, naming the first sandbox; its database intact.
    free = free_port()
    third = Sandbox(tmp_path, "third", ["--port", str(free), "--data-dir", str(data)])
    assert third.proc.wait(60) == 1, third.output()
    said = third.output()
    assert f"is in use by pid {sandbox.proc.pid} (" in said, said
    assert "bridge sandbox" in said and "Traceback" not in said
    assert stored_events(database) == [event_id]
    # The refused one bound nothing, and the first still answers with its event.
    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{free}/healthz", timeout=5)
    # A re-post is a duplicate of the event the first sandbox still holds.
    again = requests.post(
        f"http://127.0.0.1:{port}/hooks/website",
        data=(REPO / "examples/payloads/website-enquiry.json").read_bytes(),
        headers={"X-Bridge-Token": "sandbox-token", "Content-Type": "application/json"},
        timeout=10,
    )
    assert again.json() == {"duplicate": True, "event": event_id}


def test_config_curl_is_signed_for_that_configs_sources(tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text(SIGNED_CONFIG)
    port = free_port()
    sandbox = Sandbox(
        tmp_path,
        "signed",
        ["--port", str(port), "--data-dir", str(tmp_path / "d"), "--config", str(config)],
        SIGNED_ENV,
    )
    try:
        sandbox.wait_ready()
        banner = sandbox.output()
        assert "sandbox-token" not in banner
        assert f"http://127.0.0.1:{port}/hooks/enquiries" in banner
        command = banner.split("Send the example to the source 'enquiries'", 1)[1]
        command = command.split("curl -sS http", 1)[0].strip()
        assert "Typeform-Signature: sha256=" in command
        answer = subprocess.run(
            ["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        accepted = json.loads(answer.stdout)
        assert accepted["event"].startswith("ev_") and "duplicate" not in accepted, answer

        # The timestamped kind (Calendly) signs when the line runs, so it never goes stale.
        env = {**sandbox_env(config, "sqlite://", PROBE_IVVY_URL, tmp_path), **SIGNED_ENV}
        loaded = load_config(config, env=env)
        only_calendly = loaded.__class__(
            **{**loaded.__dict__, "sources": {"calendly": loaded.sources["calendly"]}}
        )
        line = curl_for(only_calendly, f"http://127.0.0.1:{port}")
        assert line is not None and "openssl dgst -sha256 -hmac" in line.command
        answer = subprocess.run(
            ["bash", "-c", line.command], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        assert json.loads(answer.stdout)["event"].startswith("ev_"), answer
        bad = line.command.replace("cal-key-for-tests", "wrong-key")
        refused = subprocess.run(
            ["bash", "-c", bad], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        assert "event" not in json.loads(refused.stdout), refused.stdout
    finally:
        assert sandbox.stop() == 0, sandbox.output()


def test_a_config_that_does_not_use_the_sandbox_ivvy_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "real.yaml"
    config.write_text(SIGNED_CONFIG.replace("base_url: ${IVVY_BASE_URL}", "region: AU"))
    data = tmp_path / "d"
    refused = Sandbox(
        tmp_path, "real", ["--port", str(free_port()), "--data-dir", str(data), "--config",
                           str(config)], SIGNED_ENV,
    )  # fmt: skip
    assert refused.proc.wait(60) == 1
    assert "not to the sandbox iVvy" in refused.output()
    assert not data.exists()
