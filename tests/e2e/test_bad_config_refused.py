"""A process refuses to start on a bad config file, before it binds a port or claims a job."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.configs import WEBSITE_RULE, write_config
from tests.support.processes import free_port


def run_bridge(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def broken_env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    rules = WEBSITE_RULE.replace("+1 business day at 09:00", "+2 fortnights")
    path = write_config(tmp_path, ivvy_url="http://127.0.0.1:9", rules=rules)
    return {
        "BRIDGE_CONFIG": str(path),
        "DATABASE_URL": sqlite_url,
        "IVVY_API_KEY": "key",
        "IVVY_API_SECRET": "a-secret-value",
        "WEBSITE_TOKEN": "token-value",
    }


def test_the_web_process_refuses_a_bad_file_before_binding_its_port(
    broken_env: dict[str, str],
) -> None:
    port = free_port()
    result = run_bridge(["serve", "--host", "127.0.0.1", "--port", str(port)], broken_env)
    assert result.returncode == 1
    assert "bridge.yaml:" in result.stderr
    assert "rules[0].task.due: unknown unit 'fortnights'" in result.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing ever listened


def test_the_worker_refuses_a_bad_file(broken_env: dict[str, str]) -> None:
    result = run_bridge(["worker"], broken_env)
    assert result.returncode == 1
    assert "unknown unit 'fortnights'" in result.stderr


def test_a_missing_environment_variable_is_named_and_its_siblings_secrets_are_not_shown(
    broken_env: dict[str, str],
) -> None:
    env = {**broken_env, "IVVY_API_SECRET": ""}
    result = run_bridge(["worker"], env)
    assert result.returncode == 1
    assert "IVVY_API_SECRET" in result.stderr
    assert "token-value" not in result.stderr + result.stdout
