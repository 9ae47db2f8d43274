"""The SNS layer of the ivvy source: envelope signatures, trusted URLs, key cache, handshake."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.sources.base import Accepted, Acknowledged, VerificationFailed
from bridge.sources.sns import (
    SNS_URL_PATTERN,
    KeyCache,
    UpstreamUnavailable,
    canonical_string,
    cert_url_fits_topic,
    url_is_trusted,
)
from tests.sources.ivvy_support.world import (
    CONFIRM_PATH,
    IVVY_KEY_PATH,
    OTHER_TOPIC,
    SNS_CERT_PATH,
    World,
    deliver,
    request_for,
)
from tests.support.processes import free_port

SAMPLES = Path(__file__).parents[1] / "fixtures" / "samples"
NOW = datetime.now(UTC).replace(microsecond=0)
BODY = {"data": {"id": 763, "venueId": 1, "name": "Wedding", "stageName": "Won"}}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World.start()
    yield world
    world.server.stop()


def test_canonical_string_of_a_notification_skips_an_absent_subject() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:t",
        "Message": "hello",
        "Timestamp": "2024-03-11T00:00:45.569Z",
        "UnsubscribeURL": "https://example.invalid/",
    }
    expected = (
        "Message\nhello\nMessageId\nm-1\nTimestamp\n2024-03-11T00:00:45.569Z\n"
        "TopicArn\narn:t\nType\nNotification\n"
    )
    assert canonical_string(envelope) == expected.encode()
    with_subject = canonical_string({**envelope, "Subject": "S"})
    assert (
        with_subject
        == expected.replace("MessageId\nm-1\n", "MessageId\nm-1\nSubject\nS\n").encode()
    )


def test_canonical_string_of_the_verbatim_subscription_confirmation() -> None:
    sample = json.loads((SAMPLES / "ivvy-SubscriptionConfirmation.json").read_text())
    expected = "".join(
        f"{key}\n{sample[key]}\n"
        for key in (
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        )
    )
    text = canonical_string(sample).decode()
    assert text == expected
    assert text.startswith("Message\nYou have chosen to subscribe")


def test_canonical_string_refuses_a_missing_part_or_an_unknown_type() -> None:
    with pytest.raises(ValueError):
        canonical_string({"Type": "Notification", "Message": "x"})
    with pytest.raises(ValueError):
        canonical_string({"Type": "Other"})


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=1", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("http://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://sns.ap-southeast-2.amazonaws.com.evil.example/cert.pem", False),
        ("https://sns.ap-southeast-2.amazonaws.com@evil.example/cert.pem", False),
        ("https://user@sns.ap-southeast-2.amazonaws.com/cert.pem", False),
        ("https://evil.example/sns.ap-southeast-2.amazonaws.com/cert.pem", False),
        ("https://sns.ap-southeast-2.amazonaws.com\\@evil.example/cert.pem", False),
        ("https://s3.amazonaws.com/cert.pem", False),
        (None, False),
    ],
)
def test_only_sns_hosts_are_trusted_by_default(url: str | None, trusted: bool) -> None:
    assert url_is_trusted(url, re.compile(SNS_URL_PATTERN)) is trusted


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_notification_verifies_with_either_signature_version(
    world: World, version: str
) -> None:
    envelope = world.notifier(signature_version=version).notification(
        "OpportunityUpdated", BODY, now=NOW
    )
    assert envelope["SignatureVersion"] == version
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Accepted)
    assert result.event.data["stageName"] == "Won"


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "Signature"])
def test_a_tampered_envelope_is_refused(world: World, version: str, field: str) -> None:
    envelope = world.notifier(signature_version=version).notification(
        "OpportunityUpdated", BODY, now=NOW
    )
    if field == "Signature":
        sig = envelope["Signature"]
        envelope[field] = ("A" if sig[0] != "A" else "B") + sig[1:]
    elif field == "Message":
        envelope[field] = envelope[field].replace("OpportunityUpdated", "OpportunityAdded")
    else:
        envelope[field] = {"Timestamp": "2001-01-01T00:00:00.000Z", "MessageId": "other-id"}[field]
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW)


def test_the_version_field_picks_the_digest(world: World) -> None:
    envelope = world.notifier(signature_version="1").notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW
    )
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for({**envelope, "SignatureVersion": "2"}), NOW)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for({**envelope, "SignatureVersion": "3"}), NOW)


def test_a_cert_url_on_a_disallowed_host_is_refused_and_never_fetched(world: World) -> None:
    envelope = world.notifier().notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    before = world.hits(SNS_CERT_PATH)
    # The default rule (SNS hosts, https) does not trust the test server.
    strict = world.source(sns_cert_url_pattern=None)
    with pytest.raises(VerificationFailed):
        strict.verify(request_for(envelope), NOW)
    # Nor does a pattern for another address.
    other = world.source(sns_cert_url_pattern=r"http://127\.0\.0\.1:1/")
    with pytest.raises(VerificationFailed):
        other.verify(request_for(envelope), NOW)
    assert world.hits(SNS_CERT_PATH) == before


def test_a_topic_not_on_the_allow_list_is_refused_before_any_fetch(world: World) -> None:
    envelope = world.notifier(topic_arn=OTHER_TOPIC).notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW
    )
    before = world.hits(SNS_CERT_PATH)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW)
    assert world.hits(SNS_CERT_PATH) == before
    # The same message passes once its topic is allowed.
    assert isinstance(deliver(world.source(topics=[OTHER_TOPIC]), envelope, NOW), Accepted)


def test_a_certificate_outside_its_validity_is_refused(world: World) -> None:
    envelope = world.notifier().notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW + timedelta(days=800))


def test_the_optional_age_window_is_checked_both_ways(world: World) -> None:
    envelope = world.notifier().notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    source = world.source(max_age_seconds=300)
    source.verify(request_for(envelope), NOW + timedelta(seconds=60))
    for skew in (timedelta(minutes=10), -timedelta(minutes=10)):
        with pytest.raises(VerificationFailed):
            source.verify(request_for(envelope), NOW + skew)


def test_a_body_that_is_not_json_is_refused(world: World) -> None:
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(b"not json"), NOW)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(b"[1, 2]"), NOW)


def test_keys_are_fetched_once_for_many_messages(world: World) -> None:
    source = world.source()
    cert_before = world.hits(SNS_CERT_PATH)
    key_before = world.hits("/ivvy" + IVVY_KEY_PATH)
    notifier = world.notifier()
    for n in range(6):
        result = deliver(
            source, notifier.notification("CompanyDeleted", {"companyId": n}, now=NOW), NOW
        )
        assert isinstance(result, Accepted)
    assert world.hits(SNS_CERT_PATH) == cert_before + 1
    assert world.hits("/ivvy" + IVVY_KEY_PATH) == key_before + 1


def test_the_key_cache_is_bounded_and_safe_across_threads(world: World) -> None:
    cache = KeyCache(timeout=5, max_entries=2)
    urls = [world.server.url + SNS_CERT_PATH + f"?v={n}" for n in range(3)]
    for url in urls:
        cache.get(url)
    assert len(cache) == 2
    before = world.hits(SNS_CERT_PATH)
    cache.get(urls[0])  # evicted first, so fetched again
    assert world.hits(SNS_CERT_PATH) == before + 1

    shared = KeyCache(timeout=5)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(shared.get(urls[1]))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(shared) == 1
    assert all(
        r.public_key.public_numbers() == results[0].public_key.public_numbers() for r in results
    )


def test_an_unreachable_certificate_is_retryable_not_a_refusal(world: World) -> None:
    cache = KeyCache(timeout=5)
    with pytest.raises(UpstreamUnavailable):
        cache.get(f"http://127.0.0.1:{free_port()}/sns/cert.pem")
    assert len(cache) == 0


def test_an_sns_certificate_that_is_not_there_is_a_refusal(world: World) -> None:
    """A 404 for an SNS certificate will not change on a retry: 401, not 503."""
    with pytest.raises(VerificationFailed):
        KeyCache(timeout=5, refuse_missing=True).get(world.server.url + "/sns/missing.pem")
    envelope = forged(world, SigningCertURL=world.server.url + "/sns/missing.pem")
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW)


def forged(world: World, **changes: object) -> dict[str, object]:
    """A notification for an allowed topic, then changed as a forger would."""
    envelope = dict(world.notifier().notification("CompanyDeleted", {"companyId": 1}, now=NOW))
    envelope.update(changes)
    return {k: v for k, v in envelope.items() if v is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"Type": "Bogus"},
        {"Type": None},
        {"MessageId": None},
        {"MessageId": ""},
        {"Timestamp": "yesterday"},
        {"Message": None},
        {"Message": "not an iVvy message"},
        {"Signature": "c2hvcnQ="},  # base64 of 5 bytes: no RSA signature is that short
        {"Signature": "not base64!"},
        {"SignatureVersion": "9"},
    ],
)
def test_a_forged_envelope_for_a_known_topic_is_refused_before_any_fetch(
    world: World, changes: dict[str, object]
) -> None:
    envelope = forged(world, **changes)
    before = (world.hits(SNS_CERT_PATH), world.hits("/ivvy" + IVVY_KEY_PATH))
    with pytest.raises(VerificationFailed):
        # A fresh source: its key caches are empty, so any check would need a fetch.
        world.source().verify(request_for(envelope), NOW)
    assert (world.hits(SNS_CERT_PATH), world.hits("/ivvy" + IVVY_KEY_PATH)) == before


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",  # region
        "https://sns.ap-southeast-2.amazonaws.com/anything.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-0123abcd.pem?x=1",
    ],
)
def test_an_aws_shaped_cert_url_that_does_not_fit_the_topic_is_never_fetched(
    world: World, cert_url: str
) -> None:
    topic = "arn:aws:sns:ap-southeast-2:123456789012:ivvy-notifications"
    envelope = forged(world, TopicArn=topic, SigningCertURL=cert_url)
    # The default rule (SNS hosts only); a fetch would raise UpstreamUnavailable here.
    source = world.source(sns_cert_url_pattern=None, topics=[topic])
    with pytest.raises(VerificationFailed):
        source.verify(request_for(envelope), NOW)


def test_cert_urls_fit_their_topic_region() -> None:
    topic = "arn:aws:sns:ap-southeast-2:123456789012:ivvy"
    good = "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
    assert cert_url_fits_topic(good, topic)
    assert not cert_url_fits_topic(good.replace("ap-southeast-2", "eu-west-1"), topic)
    assert not cert_url_fits_topic(good, "arn:aws:sns:ap-southeast-2:123:ivvy")


def test_a_document_that_is_not_a_key_is_refused(world: World) -> None:
    world.server.files["/sns/garbage.pem"] = (
        b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"
    )
    with pytest.raises(VerificationFailed):
        KeyCache(timeout=5).get(world.server.url + "/sns/garbage.pem")


# -- the subscription handshake ------------------------------------------------------------


def test_a_subscription_confirmation_is_confirmed_by_a_get(world: World) -> None:
    envelope = world.notifier().subscription_confirmation(world.subscribe_url, now=NOW)
    before = len(world.server.confirmations)
    result = deliver(world.source(), envelope, NOW)
    assert result == Acknowledged("subscription confirmed")
    assert world.server.confirmations[before:] == ["Action=ConfirmSubscription&Token=abc123"]


def test_a_confirmation_for_a_topic_not_allowed_is_refused_and_not_confirmed(world: World) -> None:
    envelope = world.notifier(topic_arn=OTHER_TOPIC).subscription_confirmation(
        world.subscribe_url, now=NOW
    )
    before = world.hits(CONFIRM_PATH)
    with pytest.raises(VerificationFailed):
        deliver(world.source(), envelope, NOW)
    assert world.hits(CONFIRM_PATH) == before


def test_a_tampered_subscribe_url_is_refused(world: World) -> None:
    envelope = world.notifier().subscription_confirmation(world.subscribe_url, now=NOW)
    envelope["SubscribeURL"] = envelope["SubscribeURL"].replace("abc123", "zzz")
    before = world.hits(CONFIRM_PATH)
    with pytest.raises(VerificationFailed):
        deliver(world.source(), envelope, NOW)
    assert world.hits(CONFIRM_PATH) == before


def test_a_subscribe_url_off_the_trusted_hosts_is_never_fetched(world: World) -> None:
    # Signed correctly, but "localhost" is not what the source's pattern trusts.
    port = world.server.url.rsplit(":", 1)[1]
    url = f"http://localhost:{port}{CONFIRM_PATH}?Action=ConfirmSubscription&Token=abc123"
    envelope = world.notifier().subscription_confirmation(url, now=NOW)
    before = world.hits(CONFIRM_PATH)
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Acknowledged)
    assert result.reason.startswith("subscription not confirmed")
    assert world.hits(CONFIRM_PATH) == before


def test_a_failing_subscribe_url_is_retryable(world: World) -> None:
    envelope = world.notifier().subscription_confirmation(world.subscribe_url, now=NOW)
    world.server.confirm_status = 500
    try:
        with pytest.raises(UpstreamUnavailable):
            deliver(world.source(), envelope, NOW)
    finally:
        world.server.confirm_status = 200


def test_an_unsubscribe_confirmation_is_acknowledged_without_a_fetch(world: World) -> None:
    envelope = world.notifier().subscription_confirmation(
        world.subscribe_url, now=NOW, kind="UnsubscribeConfirmation"
    )
    before = world.hits(CONFIRM_PATH)
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Acknowledged)
    assert world.hits(CONFIRM_PATH) == before
