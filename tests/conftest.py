"""Fixtures shared by the whole suite: the sandbox iVvy, databases, configs, the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store.migrate import upgrade
from tests.support.configs import TOKEN, write_config
from tests.support.databases import fresh_postgres_database


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox iVvy on a free port, seeded, over real HTTP."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file."""
    url = f"sqlite:///{tmp_path / 'bridge.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def bridge_env(tmp_path: Path, sandbox: SandboxServer, database_url: str) -> dict[str, str]:
    """Environment for bridge processes: the database, a config against the sandbox, secrets."""
    config = write_config(tmp_path, ivvy_url=sandbox.url)
    return {
        "DATABASE_URL": database_url,
        "BRIDGE_CONFIG": str(config),
        "IVVY_API_KEY": SANDBOX_KEY,
        "IVVY_API_SECRET": SANDBOX_SECRET,
        "WEBSITE_TOKEN": TOKEN,
        "BRIDGE_ADMIN_TOKEN": "admin-token-for-tests",
        "LOG_LEVEL": "INFO",
    }
