"""The redactor's table, and JSON log lines that carry the request id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.ivvy.sandbox import SandboxServer
from bridge.logs import Redactor
from tests.api.conftest import ADMIN, build_app


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T00:51:56.542+00:00", "2026-11-28T00:51:56.542+00:00"),
        ("run_at 2026-11-28 01:14:50.350123+00:00", "run_at 2026-11-28 01:14:50.350123+00:00"),
        ("due 2026-03-02 09:00", "due 2026-03-02 09:00"),
        ("job 42 took 1.5 s", "job 42 took 1.5 s"),
        ("call +61 400 111 222 now", "call [phone] now"),
        ("0400-111-222", "[phone]"),
        ('{"phone": "+61400111222"}', '{"phone": "[phone]"}'),
        ("tel:0400111222", "tel:[phone]"),
        ("write to Jane.Doe+x@example.co.uk", "write to [email]"),
        ("X-Signature: sha256=3f2a9b8c7d6e5f40", "X-Signature: [redacted]"),
        ("sha256=3f2a9b8c7d6e5f40", "sha256=[redacted]"),
        ("svix v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=", "svix v1,[redacted]"),
        ("IWS key123:abcdef0123456789", "IWS key123:[redacted]"),
        ("the key is hunter2-secret", "the key is [secret]"),
    ],
)
def test_the_redactor(text: str, expected: str) -> None:
    assert Redactor(["hunter2-secret"])(text) == expected


def test_log_lines_are_json_with_the_request_id(
    tmp_path: Path,
    sqlite_url: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = build_app(tmp_path, sqlite_url, sandbox.url, monkeypatch).test_client()
    headers = {"Authorization": f"Bearer {ADMIN}", "X-Request-Id": "req-123"}
    assert client.get("/api/events?q=someone@example.org", headers=headers).status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ours = [line for line in lines if line.get("request_id") == "req-123"]
    assert {line["msg"] for line in ours} == {"api events listed", "request"}
    listed = next(line for line in ours if line["msg"] == "api events listed")
    assert listed["q"] == "[email]"
    request = next(line for line in ours if line["msg"] == "request")
    assert (request["method"], request["path"], request["status"]) == ("GET", "/api/events", 200)
