"""An in-process app on a real database and config, and an admin-authenticated client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.support.configs import TOKEN, write_config

ADMIN = "admin-token-for-tests"


def build_app(
    tmp_path: Path,
    database_url: str,
    ivvy_url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    admin_token: str | None = ADMIN,
    rules: str | None = None,
) -> Flask:
    """The real app factory with a config against ``ivvy_url``."""
    monkeypatch.setenv("IVVY_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("IVVY_API_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    extra = {"rules": rules} if rules else {}
    config = write_config(tmp_path, ivvy_url=ivvy_url, **extra)
    settings = Settings(database_url=database_url, config_path=str(config), admin_token=admin_token)
    return create_app(runtime=Runtime.from_env(settings))


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    app = build_app(tmp_path, database_url, sandbox.url, monkeypatch)
    yield app
    app.extensions["bridge"].database.dispose()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    """A test client that sends the admin bearer token on every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ADMIN}"
    return client
