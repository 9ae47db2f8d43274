"""Fixtures for the ingest route's web-level guarantees: a real gunicorn per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.migrate import upgrade
from tests.ingest.running_bridge import SIGNED_SOURCES, RunningBridge, StartBridge
from tests.support.configs import TOKEN, write_config
from tests.support.databases import fresh_postgres_database
from tests.support.processes import BridgeProcess, start_web


@contextmanager
def bridges(directory: Path, ivvy_url: str, database_url: str) -> Iterator[StartBridge]:
    """A starter of ``bridge serve`` processes on one database, all stopped on exit.

    Each has the ``website`` form source, the signed sources and any ``extra_sources``;
    keyword arguments are extra environment variables.
    """
    started: list[tuple[BridgeProcess, RunningBridge]] = []

    def start(extra_sources: str = "", workers: int = 2, **env: str) -> RunningBridge:
        home = directory / f"bridge-{len(started)}"
        home.mkdir()
        config = write_config(home, ivvy_url=ivvy_url, extra_sources=SIGNED_SOURCES + extra_sources)
        full_env = {
            "DATABASE_URL": database_url,
            "BRIDGE_CONFIG": str(config),
            "IVVY_API_KEY": SANDBOX_KEY,
            "IVVY_API_SECRET": SANDBOX_SECRET,
            "WEBSITE_TOKEN": TOKEN,
            "LOG_LEVEL": "INFO",
            **env,
        }
        process, url = start_web(full_env, home / "web.log", workers=workers)
        bridge = RunningBridge(url, database_url, full_env)
        started.append((process, bridge))
        return bridge

    try:
        yield start
    finally:
        for process, bridge in started:
            bridge.close()
            process.stop()


@pytest.fixture
def start_bridge(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> Iterator[StartBridge]:
    """Start bridges on SQLite, then (a second run of the test) on PostgreSQL."""
    with bridges(tmp_path, sandbox.url, database_url) as start:
        yield start


@pytest.fixture
def start_sqlite_bridge(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> Iterator[StartBridge]:
    """Start bridges on SQLite only."""
    with bridges(tmp_path, sandbox.url, sqlite_url) as start:
        yield start


@pytest.fixture(scope="module")
def shared_extra_sources() -> str:
    """Sources a module's shared bridge serves besides ``website`` and the signed ones."""
    return ""


@pytest.fixture(scope="module")
def shared_bridge_env() -> dict[str, str]:
    """Environment variables a module's shared bridge starts with."""
    return {}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_bridge(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_extra_sources: str,
    shared_bridge_env: dict[str, str],
) -> Iterator[RunningBridge]:
    """One bridge per module and database, for tests that only look at their own deliveries.

    A module chooses what it serves by overriding the ``shared_extra_sources`` and
    ``shared_bridge_env`` fixtures.
    """
    directory = tmp_path_factory.mktemp("shared-bridge")
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_database())
        else:
            url = f"sqlite:///{directory / 'bridge.sqlite'}"
        upgrade(url)
        sandbox = stack.enter_context(SandboxServer())
        start = stack.enter_context(bridges(directory, sandbox.url, url))
        yield start(extra_sources=shared_extra_sources, **shared_bridge_env)
