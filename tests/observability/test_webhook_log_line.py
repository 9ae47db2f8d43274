"""One log line per webhook request, naming its outcome next to its status and duration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.ivvy.sandbox import SandboxServer
from tests.api.conftest import build_app
from tests.support.configs import TOKEN

ENQUIRY = {"first_name": "Jane", "email": "jane.doe@example.org", "message": "A wedding"}


@pytest.fixture
def post(
    tmp_path: Path,
    sqlite_url: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    """Post to a hook and return the status and the log lines that carry the request's id."""
    client = build_app(tmp_path, sqlite_url, sandbox.url, monkeypatch).test_client()

    def send(request_id: str, path: str, token: str, **kwargs: Any) -> tuple[int, list[Any]]:
        headers = {"X-Bridge-Token": token, "X-Request-Id": request_id}
        status = client.post(path, headers=headers, **kwargs).status_code
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return status, [line for line in lines if line.get("request_id") == request_id]

    return send


def test_an_accepted_webhook_is_one_line(post: Any) -> None:
    status, lines = post("req-accepted", "/hooks/website", TOKEN, json=ENQUIRY)
    assert status == 202
    [line] = lines
    assert line["msg"] == "webhook accepted"
    assert line["level"] == "info"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/hooks/website", 202)
    assert line["source"] == "website"
    assert line["event_id"].startswith("ev_")
    assert isinstance(line["duration_ms"], float)
    assert "jane" not in json.dumps(line).lower()


def test_a_duplicate_names_the_first_event(post: Any) -> None:
    _, [first] = post("req-first", "/hooks/website", TOKEN, json=ENQUIRY)
    status, [again] = post("req-again", "/hooks/website", TOKEN, json=ENQUIRY)
    assert (status, again["msg"], again["status"]) == (200, "webhook duplicate", 200)
    assert again["event_id"] == first["event_id"]


@pytest.mark.parametrize(
    ("token", "body", "status", "msg"),
    [
        ("not-the-token", b"{}", 401, "webhook rejected"),
        (TOKEN, b"[1, 2]", 400, "webhook invalid"),
    ],
)
def test_a_refused_webhook_is_one_line(
    post: Any, token: str, body: bytes, status: int, msg: str
) -> None:
    answered, lines = post(
        "req-refused", "/hooks/website", token, data=body, content_type="application/json"
    )
    assert answered == status
    [line] = lines
    assert (line["msg"], line["status"], line["source"]) == (msg, status, "website")
    assert "not-the-token" not in json.dumps(line)


def test_an_unknown_source_gets_the_plain_request_line(post: Any) -> None:
    status, [line] = post("req-unknown", "/hooks/nowhere", TOKEN, json=ENQUIRY)
    assert (status, line["msg"], line["status"], line["source"]) == (404, "request", 404, "nowhere")
