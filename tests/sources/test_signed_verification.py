"""Signed source types: each sender's own signing, tampering, rotation, timestamp windows."""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from bridge.sources.base import InboundRequest, VerificationFailed

NOW_TS = int(datetime(2026, 3, 2, 9, 30, tzinfo=UTC).timestamp())

Signer = Callable[[bytes, str, int], dict[str, str]]


def _mac(secret: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def sign_typeform(body: bytes, secret: str, ts: int) -> dict[str, str]:
    return {"typeform-signature": "sha256=" + _b64(_mac(secret, body))}


def sign_tally(body: bytes, secret: str, ts: int) -> dict[str, str]:
    return {"tally-signature": _b64(_mac(secret, body))}


def sign_webflow(body: bytes, secret: str, ts: int) -> dict[str, str]:
    millis = str(ts * 1000)
    signature = _mac(secret, millis.encode() + b":" + body).hex()
    return {"x-webflow-timestamp": millis, "x-webflow-signature": signature}


def t_v1_signer(header: str) -> Signer:
    def sign(body: bytes, secret: str, ts: int) -> dict[str, str]:
        return {header: f"t={ts},v1={_mac(secret, f'{ts}.'.encode() + body).hex()}"}

    return sign


def sign_standard(body: bytes, secret: str, ts: int) -> dict[str, str]:
    msg_id = "msg_2mB0cYkQ1vWz"
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def sign_formstack(body: bytes, secret: str, ts: int) -> dict[str, str]:
    return {"x-fs-signature": "sha256=" + _mac(secret, body).hex()}


def sign_custom(body: bytes, secret: str, ts: int) -> dict[str, str]:
    message = b"evt_42." + str(ts).encode() + b"." + body
    return {"x-sig": _b64(_mac(secret, message, "sha512")), "x-ts": str(ts), "x-id": "evt_42"}


def _whsec(raw: bytes) -> str:
    return "whsec_" + _b64(raw)


STANDARD_WEBHOOK_BODY = json.dumps(
    {"type": "contact.created", "timestamp": "2026-03-02T09:30:00Z", "data": {"email": "a@b.c"}}
).encode()
FORMSPREE_BODY = json.dumps({"form": "xqkvbnlp", "submission": {"email": "a@b.c"}}).encode()
CUSTOM_OPTIONS = {
    "header": "X-Sig",
    "algorithm": "sha512",
    "encoding": "base64",
    "signed_content": "{id}.{timestamp}.{body}",
    "timestamp_header": "X-Ts",
    "id_header": "X-Id",
}


@dataclass(frozen=True)
class Scheme:
    """One sender's signing, as the tests replay it."""

    type_name: str
    body: str | bytes  # a sample file name, or the bytes themselves
    sign: Signer
    headers: tuple[str, ...]
    timestamped: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/json"
    secrets: tuple[str, str, str] = ("old-secret-1", "new-secret-2", "wrong-secret-3")


SCHEMES = {
    "typeform": Scheme("typeform", "typeform.json", sign_typeform, ("typeform-signature",)),
    "tally": Scheme("tally", "tally.json", sign_tally, ("tally-signature",)),
    "webflow": Scheme(
        "webflow",
        "webflow-form-submission.json",
        sign_webflow,
        ("x-webflow-timestamp", "x-webflow-signature"),
        timestamped=True,
    ),
    "calendly": Scheme(
        "calendly",
        "calendly-invitee-created.json",
        t_v1_signer("calendly-webhook-signature"),
        ("calendly-webhook-signature",),
        timestamped=True,
    ),
    "formspree": Scheme(
        "formspree",
        FORMSPREE_BODY,
        t_v1_signer("formspree-signature"),
        ("formspree-signature",),
        timestamped=True,
    ),
    "standard-webhooks": Scheme(
        "standard-webhooks",
        STANDARD_WEBHOOK_BODY,
        sign_standard,
        ("webhook-id", "webhook-timestamp", "webhook-signature"),
        timestamped=True,
        secrets=(_whsec(b"old-key-" * 4), _whsec(b"new-key-" * 4), _whsec(b"bad-key-" * 4)),
    ),
    "hmac-formstack": Scheme(
        "hmac",
        "formstack.txt",
        sign_formstack,
        ("x-fs-signature",),
        options={"header": "X-FS-Signature", "prefix": "sha256="},
        content_type="application/x-www-form-urlencoded",
    ),
    "hmac-custom": Scheme(
        "hmac",
        "formstack.json",
        sign_custom,
        ("x-sig", "x-ts", "x-id"),
        timestamped=True,
        options=CUSTOM_OPTIONS,
    ),
}
TIMESTAMPED = [name for name, scheme in SCHEMES.items() if scheme.timestamped]


@pytest.fixture
def signed(sample, make_source, now):
    """Build (source, request) pairs for a scheme: which secrets sign, which are configured."""

    def build(name: str, *, signing: str, configured: list[str], offset: int = 0, **extra):
        scheme = SCHEMES[name]
        body = scheme.body if isinstance(scheme.body, bytes) else sample(scheme.body)
        headers = scheme.sign(body, signing, NOW_TS + offset)
        source = make_source(scheme.type_name, secrets=configured, **scheme.options, **extra)
        request = InboundRequest(body=body, headers=headers, content_type=scheme.content_type)
        return source, request

    return build


def assert_rejected(source, request, now, *never_shown: str) -> None:
    with pytest.raises(VerificationFailed) as failure:
        source.verify(request, now)
    for secret in never_shown:
        assert secret not in str(failure.value)
    for value in request.headers.values():
        assert len(value) < 12 or value not in str(failure.value)


@pytest.mark.parametrize("name", SCHEMES)
def test_the_senders_own_signature_is_accepted(name, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(name, signing=scheme.secrets[1], configured=[scheme.secrets[1]])
    source.verify(request, now)


@pytest.mark.parametrize("name", SCHEMES)
def test_a_single_secret_option_works_like_a_list_of_one(name, sample, make_source, now):
    scheme = SCHEMES[name]
    body = scheme.body if isinstance(scheme.body, bytes) else sample(scheme.body)
    source = make_source(scheme.type_name, secret=scheme.secrets[0], **scheme.options)
    headers = scheme.sign(body, scheme.secrets[0], NOW_TS)
    source.verify(InboundRequest(body=body, headers=headers, content_type=scheme.content_type), now)


@pytest.mark.parametrize("position", [0, 1, -2])
@pytest.mark.parametrize("name", SCHEMES)
def test_one_changed_byte_of_the_body_is_rejected(name, position, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(name, signing=scheme.secrets[1], configured=[scheme.secrets[1]])
    body = bytearray(request.body)
    body[position] ^= 0x01
    tampered = InboundRequest(bytes(body), request.headers, content_type=request.content_type)
    assert_rejected(source, tampered, now, *scheme.secrets)


@pytest.mark.parametrize("name", SCHEMES)
def test_a_signature_made_with_another_secret_is_rejected(name, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(name, signing=scheme.secrets[2], configured=list(scheme.secrets[:2]))
    assert_rejected(source, request, now, *scheme.secrets)


@pytest.mark.parametrize("which", [0, 1], ids=["old", "new"])
@pytest.mark.parametrize("name", SCHEMES)
def test_while_rotating_both_secrets_are_accepted(name, which, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(
        name, signing=scheme.secrets[which], configured=list(scheme.secrets[:2])
    )
    source.verify(request, now)


@pytest.mark.parametrize(
    ("name", "header"), [(name, h) for name, s in SCHEMES.items() for h in s.headers]
)
def test_a_missing_header_is_rejected(name, header, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(name, signing=scheme.secrets[1], configured=[scheme.secrets[1]])
    headers = {k: v for k, v in request.headers.items() if k != header}
    assert_rejected(source, InboundRequest(request.body, headers), now, *scheme.secrets)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-301, False), (-299, True), (0, True), (299, True), (301, False)]
)
@pytest.mark.parametrize("name", TIMESTAMPED)
def test_timestamps_are_checked_in_both_directions(name, offset, accepted, signed, now):
    scheme = SCHEMES[name]
    secret = scheme.secrets[1]
    source, request = signed(name, signing=secret, configured=[secret], offset=offset)
    if accepted:
        source.verify(request, now)
    else:
        assert_rejected(source, request, now, secret)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-61, False), (-59, True), (59, True), (61, False)]
)
@pytest.mark.parametrize("name", TIMESTAMPED)
def test_the_tolerance_is_configurable(name, offset, accepted, signed, now):
    secret = SCHEMES[name].secrets[1]
    source, request = signed(
        name, signing=secret, configured=[secret], offset=offset, tolerance_seconds=60
    )
    if accepted:
        source.verify(request, now)
    else:
        assert_rejected(source, request, now, secret)


@pytest.mark.parametrize("name", TIMESTAMPED)
def test_a_timestamp_that_is_not_a_number_is_rejected(name, signed, now):
    scheme = SCHEMES[name]
    source, request = signed(name, signing=scheme.secrets[1], configured=[scheme.secrets[1]])
    headers = {k: v.replace(str(NOW_TS), "nan") for k, v in request.headers.items()}
    assert_rejected(source, InboundRequest(request.body, headers), now)
