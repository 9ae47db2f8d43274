"""Published vectors (Standard Webhooks, Formstack) and the senders' header quirks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from bridge.sources.base import InboundRequest, VerificationFailed
from bridge.sources.timestamped_signature import parse_signature_header

OLD = "whsec_" + base64.b64encode(b"the-old-signing-key-0123").decode()
NEW = "whsec_" + base64.b64encode(b"the-new-signing-key-4567").decode()
BODY = b'{"type":"contact.created","data":{"email":"a@b.c"}}'
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _standard_request(signature: str, msg_id: str = "msg_1", ts: int | None = None):
    ts = int(NOW.timestamp()) if ts is None else ts
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}
    return InboundRequest(body=BODY, headers=headers, content_type="application/json")


def _standard_signature(secret: str, msg_id: str = "msg_1") -> str:
    return Webhook(secret).sign(msg_id, NOW, BODY.decode())


@pytest.mark.parametrize("signature", ["expected_signature", "both"])
def test_the_standard_webhooks_spec_vector_verifies(signature, vectors, make_source):
    vector = vectors["standard-webhooks-sign"]
    headers = {**vector["headers"], "webhook-signature": vector["expected_signature"]}
    if signature == "both":  # the Go test's multi-signature header: one bad entry, one good
        bad = vector["negative_examples"][0]["signature"]
        headers["webhook-signature"] = f"{bad} {vector['expected_signature']}"
    source = make_source("standard-webhooks", secrets=[vector["secret"]])
    at = datetime.fromtimestamp(int(vector["headers"]["webhook-timestamp"]), UTC)
    source.verify(InboundRequest(body=vector["body"].encode(), headers=headers), at)


def test_the_standard_webhooks_negative_vector_fails(vectors, make_source):
    vector = vectors["standard-webhooks-sign"]
    headers = {
        **vector["headers"],
        "webhook-signature": vector["negative_examples"][0]["signature"],
    }
    source = make_source("standard-webhooks", secrets=[vector["secret"]])
    at = datetime.fromtimestamp(int(vector["headers"]["webhook-timestamp"]), UTC)
    with pytest.raises(VerificationFailed):
        source.verify(InboundRequest(body=vector["body"].encode(), headers=headers), at)


def test_the_spec_vector_is_stale_against_a_real_clock(vectors, make_source):
    vector = vectors["standard-webhooks-sign"]
    headers = {**vector["headers"], "webhook-signature": vector["expected_signature"]}
    source = make_source("standard-webhooks", secrets=[vector["secret"]])
    with pytest.raises(VerificationFailed):
        source.verify(InboundRequest(body=vector["body"].encode(), headers=headers), NOW)


@pytest.mark.parametrize(
    ("configured", "accepted"),
    [([NEW], True), ([OLD], True), ([OLD, NEW], True), (["whsec_" + "QUJD" * 8], False)],
)
def test_a_header_carrying_two_signatures_matches_either_secret(configured, accepted, make_source):
    header = f"{_standard_signature(OLD)} {_standard_signature(NEW)}"
    source = make_source("standard-webhooks", secrets=configured)
    if accepted:
        source.verify(_standard_request(header), NOW)
    else:
        with pytest.raises(VerificationFailed):
            source.verify(_standard_request(header), NOW)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("v1a,{sig} v1,{sig}", True),  # other versions are skipped, v1 still matches
        ("v1a,{sig}", False),  # the right bytes under another version do not count
        ("v2,{sig}", False),
        ("v1,not-base64!! v1,{sig}", True),
        ("v1,", False),
        ("{sig}", False),
    ],
)
def test_only_v1_entries_count(header, accepted, make_source):
    signature = _standard_signature(NEW).split(",", 1)[1]
    source = make_source("standard-webhooks", secrets=[NEW])
    request = _standard_request(header.format(sig=signature))
    if accepted:
        source.verify(request, NOW)
    else:
        with pytest.raises(VerificationFailed):
            source.verify(request, NOW)


def test_a_bare_base64_secret_is_accepted(make_source):
    source = make_source("standard-webhooks", secret=NEW.removeprefix("whsec_"))
    source.verify(_standard_request(_standard_signature(NEW)), NOW)


def test_the_message_id_is_part_of_what_is_signed(make_source):
    source = make_source("standard-webhooks", secret=NEW)
    with pytest.raises(VerificationFailed):
        source.verify(_standard_request(_standard_signature(NEW), msg_id="msg_2"), NOW)


@pytest.mark.parametrize(
    ("vector_id", "secrets", "accepted"),
    [
        ("formstack-captured-1", ["test"], True),
        ("formstack-captured-2", ["test"], False),  # the key was rotated between deliveries
        ("formstack-captured-2", ["test1"], True),
        ("formstack-captured-1", ["test", "test1"], True),
        ("formstack-captured-2", ["test", "test1"], True),
    ],
)
def test_the_captured_formstack_deliveries(vector_id, secrets, accepted, vectors, make_source, now):
    vector = vectors[vector_id]
    source = make_source("hmac", secrets=secrets, header="X-FS-Signature", prefix="sha256=")
    headers = {k.lower(): v for k, v in vector["headers"].items()}
    headers["x-fs-signature"] = vector["expected_signature"]
    request = InboundRequest(vector["body"].encode(), headers, content_type=headers["content-type"])
    if accepted:
        source.verify(request, now)
    else:
        with pytest.raises(VerificationFailed):
            source.verify(request, now)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("t=1700000000,v1=abc", ("1700000000", ["abc"])),
        (" t = 1700000000 , v1 = abc ", ("1700000000", ["abc"])),
        ("t=1,v1=aa,v1=bb,v0=cc", ("1", ["aa", "bb"])),
        ("v1=aa,t=2", ("2", ["aa"])),
        ("T=3,V1=dd", ("3", ["dd"])),
        ("t=1,v1=", ("1", [])),
        ("garbage", (None, [])),
        ("", (None, [])),
    ],
)
def test_t_v1_headers_are_parsed_defensively(header, expected):
    assert parse_signature_header(header) == expected


def _calendly(header: str, make_source, body: bytes = b'{"event":"invitee.created"}'):
    source = make_source("calendly", secret="calendly-key")
    return source, InboundRequest(body, {"calendly-webhook-signature": header})


def _hex(ts: int, body: bytes = b'{"event":"invitee.created"}', key: str = "calendly-key") -> str:
    return hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "template",
    [
        "t={ts},v1={good}",
        "t={ts}, v1={bad}, v1={good}",
        "v1={good},t={ts}",
        "t={ts},v0={bad},v1={good}",
    ],
)
def test_calendly_headers_with_spaces_or_several_signatures(template, make_source, now):
    ts = int(now.timestamp())
    header = template.format(ts=ts, good=_hex(ts), bad=_hex(ts, key="other"))
    source, request = _calendly(header, make_source)
    source.verify(request, now)


@pytest.mark.parametrize(
    "template",
    [
        "v1={good}",  # no timestamp
        "t={ts}",  # no signature
        "t={ts},v0={good}",  # only an unknown scheme
        "t={other},v1={good}",  # the timestamp is signed too
    ],
)
def test_calendly_headers_that_cannot_verify(template, make_source, now):
    ts = int(now.timestamp())
    header = template.format(ts=ts, other=ts - 1, good=_hex(ts))
    source, request = _calendly(header, make_source)
    with pytest.raises(VerificationFailed):
        source.verify(request, now)


@pytest.mark.parametrize("header", ["sha1=abc", "sha256", "", "   "])
def test_typeform_headers_without_a_sha256_signature_fail(header, make_source, now):
    source = make_source("typeform", secret="s")
    with pytest.raises(VerificationFailed):
        source.verify(InboundRequest(b"{}", {"typeform-signature": header}), now)


def test_a_source_without_any_usable_secret_fails_closed(make_source, now):
    source = make_source("tally", secret="configured")
    source.options["secret"] = None  # as if the environment variable were empty at run time
    signature = base64.b64encode(hmac.new(b"", b"{}", hashlib.sha256).digest()).decode()
    with pytest.raises(VerificationFailed):
        source.verify(InboundRequest(b"{}", {"tally-signature": signature}), now)
