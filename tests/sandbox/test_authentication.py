"""Signature checks over real HTTP: iVvy's documented vectors pass, every bent part is a 401."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bridge.ivvy.sandbox import SandboxServer

VECTOR_TIME = datetime(2012, 4, 3, 22, 23, 24, tzinfo=UTC)
# The reference's vectors A-D (key testkey, secret testsecret): headers sent exactly as listed.
VECTORS = {
    "A ivvy-date": (
        b'{"example":"body"}',
        {"Content-Type": "application/json", "IVVY-Date": "2012-04-03 22:23:24",
         "Content-MD5": "a09f600c77a6dbd947db24c61e8935ca"},
        "2d983688d5699a15149875744f47b957792b13cf",
    ),
    "B date header": (
        b'{"example":"body"}',
        {"Content-Type": "application/json", "Date": "Tue, 03 Apr 2012 22:23:24 UTC",
         "Content-MD5": "a09f600c77a6dbd947db24c61e8935ca"},
        "4abc0b363f28483e345dccceab912b542e48a767",
    ),
    "C empty body": (
        b"",
        {"Content-Type": "application/json", "IVVY-Date": "2012-04-03 22:23:24",
         "Content-MD5": "d41d8cd98f00b204e9800998ecf8427e"},
        "eac62416feebd1c9f6de315bcfabf6b7ae43e2a6",
    ),
    "D .NET style": (
        b'{"example":"body"}',
        {"Content-Type": "application/json; charset=utf-8", "IVVY-Date": "2012-04-03 22:23:24 UTC",
         "Content-MD5": "a09f600c77a6dbd947db24c61e8935ca"},
        "2f54cb7db0dc9037aeb8b07cf692121a9a5e251c",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def vector_server() -> Iterator[SandboxServer]:
    with SandboxServer(credentials={"testkey": "testsecret"}, clock=lambda: VECTOR_TIME) as server:
        yield server


@pytest.mark.parametrize("name", list(VECTORS))
def test_documented_vectors_are_accepted(vector_server: SandboxServer, name: str) -> None:
    body, headers, mac = VECTORS[name]
    response = requests.post(
        vector_server.url + "/api/1.0/test?action=ping",
        data=body,
        headers={**headers, "X-Api-Authorization": f"IWS testkey:{mac}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"ack": "2012-04-03 22:23:24 UTC"}


def test_a_vector_with_one_flipped_hex_digit_is_refused(vector_server: SandboxServer) -> None:
    body, headers, mac = VECTORS["A ivvy-date"]
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    response = requests.post(
        vector_server.url + "/api/1.0/test?action=ping",
        data=body,
        headers={**headers, "X-Api-Authorization": f"IWS testkey:{flipped}"},
        timeout=5,
    )
    assert response.status_code == 401


@pytest.mark.parametrize("date_style", ["ivvy", "ivvy-utc", "http"])
def test_valid_ping(api, date_style: str) -> None:
    response = api.post("test", "ping", date_style=date_style)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    ack = datetime.strptime(response.json()["ack"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert abs(ack - datetime.now(UTC)) < timedelta(minutes=1)


def test_empty_list_body_is_an_empty_request(api) -> None:
    assert api.post("test", "ping", []).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"sent_body": b'{"example":"bodz"}', "md5": None}, id="tampered body"),
        pytest.param({"secret": "not-the-secret"}, id="wrong secret"),
        pytest.param({"key": "nobody"}, id="unknown key"),
        pytest.param({"md5": "0" * 32}, id="wrong Content-MD5"),
        pytest.param({"md5": "A09F600C77A6DBD947DB24C61E8935CA"}, id="upper-case Content-MD5"),
        pytest.param({"sent_content_type": "application/json; charset=utf-8"}, id="content type"),
        pytest.param({"signed_target": "/api/1.0/test?action=other"}, id="request target"),
    ],
)
def test_bent_requests_are_refused(api, inspector, tamper: dict) -> None:
    response = api.post("test", "ping", {"example": "body"}, **tamper)
    assert response.status_code == 401
    body = response.json()
    assert body["errorCode"] == 401
    assert body["specificCode"] != 23005
    assert inspector.get("calls")[-1]["status"] == 401


def test_tampered_body_with_its_own_md5_still_fails_the_signature(api) -> None:
    from bridge.ivvy.signing import content_md5

    forged = b'{"name":"forged"}'
    response = api.post("test", "ping", {"name": "real"}, sent_body=forged, md5=content_md5(forged))
    assert response.status_code == 401
    assert response.json()["message"] == "Signature does not match"


def test_refusals_do_not_echo_credentials(api) -> None:
    response = api.post("test", "ping", secret="wrong-secret")
    assert response.status_code == 401
    assert "sandbox-key" not in response.text
    assert "wrong-secret" not in response.text


@pytest.mark.parametrize("header", ["", "IWS sandbox-key", "Bearer abc", "IWS sandbox-key:xyz"])
def test_malformed_authorization_is_refused(api, header: str) -> None:
    response = requests.post(
        api.base_url + "/api/1.0/test?action=ping",
        data=b"",
        headers={"X-Api-Authorization": header, "Content-MD5": "d41d8cd98f00b204e9800998ecf8427e"},
        timeout=5,
    )
    assert response.status_code == 401


@pytest.mark.parametrize("minutes", [-6, 6])
@pytest.mark.parametrize("date_style", ["ivvy", "http"])
def test_stale_dates_both_ways_are_23005(api, minutes: int, date_style: str) -> None:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    response = api.post("test", "ping", when=when, date_style=date_style)
    assert response.status_code == 401
    assert response.json()["specificCode"] == 23005
    assert response.json()["message"] == "Request is stale"


@pytest.mark.parametrize("minutes", [-4, 4])
def test_dates_inside_the_window_pass(api, minutes: int) -> None:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    assert api.post("test", "ping", when=when).status_code == 200


def test_missing_content_md5_is_refused(api) -> None:
    response = api.post("test", "ping", md5="")
    assert response.status_code == 401


def test_get_is_405_in_ivvy_shape(api) -> None:
    response = requests.get(api.base_url + "/api/1.0/test?action=ping", timeout=5)
    assert response.status_code == 405
    assert response.json()["errorCode"] == 405


def test_a_signed_put_is_still_405(api) -> None:
    assert api.post("test", "ping", method="PUT").status_code == 405


def test_unknown_version_is_404(api) -> None:
    response = requests.post(api.base_url + "/api/2.0/test?action=ping", data=b"", timeout=5)
    assert response.status_code == 404
    assert response.json()["errorCode"] == 404


def test_unknown_path_is_404_in_ivvy_shape(api) -> None:
    response = requests.get(api.base_url + "/nowhere", timeout=5)
    assert response.status_code == 404
    assert set(response.json()) == {"errorCode", "message", "specificCode", "additionalMessages"}


@pytest.mark.parametrize(
    ("namespace", "action", "status"),
    [("crm", "getActivityList", 501), ("nonsense", "ping", 404), ("test", "", 404)],
)
def test_unknown_actions(api, namespace: str, action: str, status: int) -> None:
    assert api.error(namespace, action) == (status, None)


def test_body_that_is_not_an_object_is_400(api) -> None:
    assert api.post("test", "ping", [1, 2]).status_code == 400
