"""IvvyAuth and the signing core against iVvy's worked example and the notes' vectors A to E."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests

from bridge.ivvy.auth import IvvyAuth, ivvy_date
from bridge.ivvy.client import encode_body
from bridge.ivvy.signing import EMPTY_MD5, content_md5, signature, string_to_sign

KEY, SECRET = "testkey", "testsecret"
DOCS_BODY = b'{"example":"body"}'
DOCS_TARGET = "/api/1.0/test?action=ping"
DOCS_MOMENT = datetime(2012, 4, 3, 22, 23, 24, tzinfo=UTC)
AU = "https://api.ap-southeast-2.ivvy.com"


def signed(url: str, body: bytes | None, moment: datetime) -> requests.PreparedRequest:
    auth = IvvyAuth(KEY, SECRET, clock=lambda: moment)
    return requests.Request("POST", url, data=body, auth=auth).prepare()


def test_docs_worked_example_string_to_sign():
    to_sign = string_to_sign(
        method="POST",
        md5=content_md5(DOCS_BODY),
        content_type="application/json",
        date="",
        request_target=DOCS_TARGET,
        ivvy_headers={"IVVY-Date": "2012-04-03 22:23:24"},
    )
    assert to_sign == (
        "posta09f600c77a6dbd947db24c61e8935caapplication/json"
        "/api/1.0/test?action=ping1.0ivvydate=2012-04-03 22:23:24"
    )
    assert len(DOCS_BODY) == 18


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"string to hash\n", "2fcc83d76f9b2d8ef372271d807a3364"),
        (b"    string to hash    \n", "6b9202a3b05bd22803fe54767b30ee10"),
        (b"", "d41d8cd98f00b204e9800998ecf8427e"),
        (b'{"example":"body"}', "a09f600c77a6dbd947db24c61e8935ca"),
        (b'{\n  "example":"body"\n}', "8668fcf24553e185f3deced8ebdda8be"),
    ],
)
def test_md5_reference_values(data, expected):
    assert content_md5(data) == expected


def test_hmac_reference_value():
    assert signature("my secret key", "string to sign") == (
        "a993876ea1218921a1c8551923473da7b310dfae"
    )


def test_vector_a_headers_exactly():
    prepared = signed(AU + DOCS_TARGET, DOCS_BODY, DOCS_MOMENT)
    assert dict(prepared.headers) == {
        "Content-Length": "18",
        "Content-Type": "application/json",
        "Content-MD5": "a09f600c77a6dbd947db24c61e8935ca",
        "IVVY-Date": "2012-04-03 22:23:24",
        "X-Api-Version": "1.0",
        "X-Api-Authorization": "IWS testkey:2d983688d5699a15149875744f47b957792b13cf",
    }
    assert prepared.body == DOCS_BODY
    assert prepared.path_url == DOCS_TARGET


def test_vector_b_date_header_style():
    to_sign = string_to_sign(
        method="POST",
        md5=content_md5(DOCS_BODY),
        content_type="application/json",
        date="Tue, 03 Apr 2012 22:23:24 UTC",
        request_target=DOCS_TARGET,
        ivvy_headers={},
    )
    assert to_sign == (
        "posta09f600c77a6dbd947db24c61e8935caapplication/jsontue, 03 apr 2012 22:23:24 utc"
        "/api/1.0/test?action=ping1.0"
    )
    assert signature(SECRET, to_sign) == "4abc0b363f28483e345dccceab912b542e48a767"


@pytest.mark.parametrize("body", [None, b""])
def test_vector_c_empty_body(body):
    prepared = signed(AU + DOCS_TARGET, body, DOCS_MOMENT)
    assert prepared.headers["Content-MD5"] == EMPTY_MD5
    assert prepared.headers["X-Api-Authorization"] == (
        "IWS testkey:eac62416feebd1c9f6de315bcfabf6b7ae43e2a6"
    )
    assert prepared.headers["Content-Length"] == "0"


def test_vector_d_dotnet_style():
    to_sign = string_to_sign(
        method="POST",
        md5=content_md5(DOCS_BODY),
        content_type="application/json; charset=utf-8",
        date="",
        request_target=DOCS_TARGET,
        ivvy_headers={"IVVY-Date": "2012-04-03 22:23:24 UTC"},
    )
    assert to_sign.endswith("ivvydate=2012-04-03 22:23:24 utc")
    assert signature(SECRET, to_sign) == "2f54cb7db0dc9037aeb8b07cf692121a9a5e251c"


def test_vector_e_contact_lookup_headers_exactly():
    body = encode_body({"filter": {"email": "Jane.Doe@Example.com"}, "perPage": 10, "start": 0})
    assert body == b'{"filter":{"email":"Jane.Doe@Example.com"},"perPage":10,"start":0}'
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    prepared = signed(AU + "/api/1.0/contact?action=getContactList", body, moment)
    assert dict(prepared.headers) == {
        "Content-Length": "66",
        "Content-Type": "application/json",
        "Content-MD5": "eb4eb0060d80d27b7e94287f13037d75",
        "IVVY-Date": "2024-05-06 07:08:09",
        "X-Api-Version": "1.0",
        "X-Api-Authorization": "IWS testkey:db8078d90bea7c8ec339d5999c28c65121b34322",
    }


def test_every_preparation_is_signed_with_the_clocks_current_time():
    moments = iter([DOCS_MOMENT, DOCS_MOMENT + timedelta(minutes=10)])
    auth = IvvyAuth(KEY, SECRET, clock=lambda: next(moments))
    request = requests.Request("POST", AU + DOCS_TARGET, data=DOCS_BODY, auth=auth)
    first, second = request.prepare(), request.prepare()
    assert first.headers["IVVY-Date"] == "2012-04-03 22:23:24"
    assert second.headers["IVVY-Date"] == "2012-04-03 22:33:24"
    assert first.headers["X-Api-Authorization"] != second.headers["X-Api-Authorization"]


def test_non_ascii_body_is_hashed_as_the_utf8_bytes_sent():
    body = encode_body({"name": "Café ☕"})
    assert "é".encode() in body
    prepared = signed(AU + DOCS_TARGET, body, DOCS_MOMENT)
    assert prepared.headers["Content-MD5"] == hashlib.md5(body).hexdigest()
    assert prepared.body == body


def test_ivvy_date_converts_to_utc_and_refuses_naive_times():
    brisbane = timezone(timedelta(hours=10))
    assert ivvy_date(datetime(2024, 5, 6, 17, 8, 9, tzinfo=brisbane)) == "2024-05-06 07:08:09"
    with pytest.raises(ValueError, match="timezone-aware"):
        ivvy_date(datetime(2024, 5, 6, 7, 8, 9))


def test_repr_hides_credentials():
    assert SECRET not in repr(IvvyAuth(KEY, SECRET))
    assert KEY not in repr(IvvyAuth(KEY, SECRET))
