"""The ``bridge`` fixture: the config's secrets in the environment, a database, the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from tests.operations.bridge_under_test import Bridge
from tests.support.configs import TOKEN


@pytest.fixture
def bridge(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bridge]:
    """The config's secrets in the environment, and a :class:`Bridge` on ``database_url``."""
    monkeypatch.setenv("IVVY_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("IVVY_API_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", database_url)
    made = Bridge(tmp_path, database_url, sandbox)
    yield made
    made.close()
