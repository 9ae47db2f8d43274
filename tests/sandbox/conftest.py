"""The sandbox iVvy on a real port, and a small signed-request helper built on bridge.ivvy.signing.

The helper signs like iVvy's own clients but lets a test bend any part (key, secret, date,
Content-MD5, body, Content-Type) to check that the sandbox refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.ivvy.sandbox.state import packaged_seed
from bridge.ivvy.signing import content_md5, signature, string_to_sign

TIMEOUT = (3.05, 10.0)


def compact(body: Any) -> bytes:
    """The body bytes a client sends: compact JSON, or nothing for None."""
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":")).encode()


class ApiCaller:
    """Signed POSTs to one sandbox; keyword arguments tamper with single parts of a request."""

    def __init__(self, base_url: str, key: str = SANDBOX_KEY, secret: str = SANDBOX_SECRET):
        self.base_url = base_url
        self.key = key
        self.secret = secret

    def post(
        self,
        namespace: str,
        action: str,
        body: Any = None,
        *,
        key: str | None = None,
        secret: str | None = None,
        when: datetime | None = None,
        date_style: str = "ivvy",
        md5: str | None = None,
        sent_body: bytes | None = None,
        content_type: str = "application/json",
        sent_content_type: str | None = None,
        signed_target: str | None = None,
        method: str = "POST",
    ) -> requests.Response:
        """Sign ``body`` and send it; the ``sent_*`` and ``signed_*`` overrides break one part."""
        target = f"/api/1.0/{namespace}?action={action}"
        data = compact(body)
        moment = when or datetime.now(UTC)
        headers = {"Content-Type": content_type}
        if md5 != "":  # "" leaves the header out
            headers["Content-MD5"] = content_md5(data) if md5 is None else md5
        if date_style == "http":
            headers["Date"] = moment.strftime("%a, %d %b %Y %H:%M:%S UTC")
        else:
            suffix = " UTC" if date_style == "ivvy-utc" else ""
            headers["IVVY-Date"] = moment.strftime("%Y-%m-%d %H:%M:%S") + suffix
        to_sign = string_to_sign(
            method=method,
            md5=content_md5(data),
            content_type=content_type,
            date=headers.get("Date", ""),
            request_target=signed_target or target,
            ivvy_headers={k: v for k, v in headers.items() if k.upper().startswith("IVVY")},
        )
        mac = signature(secret or self.secret, to_sign)
        headers["X-Api-Authorization"] = f"IWS {key or self.key}:{mac}"
        headers["X-Api-Version"] = "1.0"
        if sent_content_type is not None:
            headers["Content-Type"] = sent_content_type
        return requests.request(
            method,
            self.base_url + target,
            data=data if sent_body is None else sent_body,
            headers=headers,
            timeout=TIMEOUT,
        )

    def call(self, namespace: str, action: str, body: Any = None) -> tuple[int, Any]:
        """``(HTTP status, parsed JSON)`` of a correctly signed call."""
        response = self.post(namespace, action, body)
        return response.status_code, response.json()

    def ok(self, namespace: str, action: str, body: Any = None) -> Any:
        """The JSON answer of a call that must succeed."""
        status, answer = self.call(namespace, action, body)
        assert status == 200, answer
        return answer

    def error(self, namespace: str, action: str, body: Any = None) -> tuple[int, int | None]:
        """``(errorCode, specificCode)`` of a call that must fail, checking the error shape."""
        status, answer = self.call(namespace, action, body)
        assert set(answer) == {"errorCode", "message", "specificCode", "additionalMessages"}
        assert answer["errorCode"] == status
        return status, answer["specificCode"]


class Inspector:
    """The /_sandbox endpoints of one sandbox."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url + "/_sandbox"

    def get(self, path: str) -> Any:
        response = requests.get(f"{self.base_url}/{path}", timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(f"{self.base_url}/{path}", json=body, timeout=TIMEOUT)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.base_url}/{path}", timeout=TIMEOUT)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def inspector(sandbox_server: SandboxServer) -> Inspector:
    """Access to /_sandbox, after putting the sandbox back to its packaged seed and no faults."""
    inspector = Inspector(sandbox_server.url)
    assert inspector.post("seed", packaged_seed()).status_code == 200
    return inspector


@pytest.fixture
def api(sandbox_server: SandboxServer, inspector: Inspector) -> ApiCaller:
    """Signed calls to a freshly reset sandbox with the default credentials."""
    return ApiCaller(sandbox_server.url)
