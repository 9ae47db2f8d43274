"""/healthz and /readyz: the database decides readiness; iVvy is pinged rarely and reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.ivvy.errors import IvvyError
from bridge.ivvy.sandbox import SandboxServer
from bridge.web.health import IvvyCheck
from tests.api.conftest import build_app
from tests.support.processes import free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_ivvy_verdict_is_cached_between_pings() -> None:
    answers: list[Exception | None] = [None, IvvyError("iVvy answered 503", http_status=503), None]
    pings = []

    def ping() -> None:
        pings.append(1)
        answer = answers[len(pings) - 1]
        if answer is not None:
            raise answer

    check = IvvyCheck(ping, every=timedelta(minutes=5))
    assert check.status(T0) == "ok"
    assert check.status(T0 + timedelta(minutes=4, seconds=59)) == "ok"
    assert len(pings) == 1
    assert check.status(T0 + timedelta(minutes=5)) == "unreachable"
    assert check.status(T0 + timedelta(minutes=9)) == "unreachable"
    assert check.status(T0 + timedelta(minutes=10)) == "ok"
    assert len(pings) == 3


def test_readyz_pings_ivvy_once_and_reports_it(
    tmp_path: Path, sqlite_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = build_app(tmp_path, sqlite_url, sandbox.url, monkeypatch).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["checks"] == {
            "config": "ok",
            "database": "ok",
            "migrations": "ok",
            "ivvy": "ok",
        }
    pings = [c for c in sandbox.state.calls() if (c["namespace"], c["action"]) == ("test", "ping")]
    assert len(pings) == 1


def test_an_unreachable_ivvy_is_reported_but_keeps_the_process_ready(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = build_app(tmp_path, sqlite_url, nowhere, monkeypatch).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["ivvy"] == "unreachable"


def test_an_unmigrated_database_is_not_ready(
    tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    client = build_app(tmp_path, empty, sandbox.url, monkeypatch).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["migrations"].startswith("pending")
