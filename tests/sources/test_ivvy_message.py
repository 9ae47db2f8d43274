"""The iVvy layer: the message signature, its key, accounts, echoes, dedupe and options."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from marshmallow import ValidationError

from bridge.events import Event
from bridge.sources.base import Accepted, Acknowledged, VerificationFailed
from bridge.sources.ivvy import ECHO_REASON, IvvySource
from bridge.sources.ivvy_message import (
    IvvyMessage,
    body_sha1,
    key_base_url,
    signing_key_url,
)
from bridge.sources.registry import SOURCE_TYPES, build_source
from bridge.sources.sns import UpstreamUnavailable
from tests.sources.ivvy_support.world import (
    CERT_KEY_PATH,
    IVVY_KEY_PATH,
    PKCS1_KEY_PATH,
    World,
    deliver,
    request_for,
    stranger_keys,
    with_message,
)

SAMPLES = Path(__file__).parents[1] / "fixtures" / "samples"
NOW = datetime.now(UTC).replace(microsecond=0)
WORKED = (
    "b898c04362bcbfe984f1867ce7db5599:stage:1710115244:14:companyadded:"
    "7fb157be320332958bf1a3da64fd010ce26ff661"
)
OWN_KEY = "bridge-own-key-0123456789abcdef"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World.start()
    yield world
    world.server.stop()


def company_added_sample() -> IvvyMessage:
    envelope = json.loads((SAMPLES / "ivvy-CompanyAdded.json").read_text())
    return IvvyMessage.from_json(envelope["Message"])


def test_the_worked_canonical_string_is_reproduced_from_the_company_added_sample() -> None:
    message = company_added_sample()
    assert body_sha1(message.body) == "7fb157be320332958bf1a3da64fd010ce26ff661"
    assert message.string_to_sign() == WORKED
    assert len(message.signature_bytes()) == 256


def test_the_company_added_sample_re_signed_verifies_and_parses(world: World) -> None:
    sample = company_added_sample()
    notifier = world.notifier(region=sample.region, account_id=sample.account_id)
    sent_at = datetime.fromtimestamp(sample.timestamp, UTC)
    envelope = notifier.notification(sample.subject, sample.body, now=sent_at, txn_id=sample.txn_id)
    assert IvvyMessage.from_json(envelope["Message"]).string_to_sign() == WORKED
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Accepted)
    event = result.event
    assert (event.kind, event.external_id) == ("CompanyAdded", "b898c04362bcbfe984f1867ce7db5599")
    assert event.data["businessName"] == "Test Company 123"
    assert event.fields["name"] == "test test"
    assert event.raw["message"]["AccountId"] == "14"


def test_key_urls_follow_the_region_and_refuse_odd_paths() -> None:
    sample = company_added_sample()
    assert signing_key_url(sample) == (
        "https://s3-ap-southeast-2.amazonaws.com/notifications.stageau.ap-southeast-2.ivvy.com"
        "/accounts/14/1537854341/notifcert.txt"
    )
    assert key_base_url("us-west-2") == (
        "https://s3-us-west-2.amazonaws.com/accountnotifications.us-west-2.ivvy.com"
    )
    for path in ("/../../evil", "accounts/1", "/a?b", "//evil.example/x", "/a@b"):
        odd = dataclasses.replace(sample, key_path=path)
        if path.startswith("//"):
            # Joined to a fixed base, a double slash stays a path on the same host.
            assert signing_key_url(odd).startswith("https://s3-ap-southeast-2.amazonaws.com/")
            continue
        with pytest.raises(ValueError):
            signing_key_url(odd)
    with pytest.raises(ValueError):
        signing_key_url(dataclasses.replace(sample, region="x.evil.example/"))


def test_a_tampered_inner_message_is_refused(world: World) -> None:
    notifier = world.notifier()
    envelope = notifier.notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    # The SNS layer is re-signed, so only iVvy's signature can catch the change.
    for change in (
        {"Body": '{"companyId": 2}'},
        {"AccountId": "15"},
        {"Subject": "ContactDeleted"},
    ):
        tampered = notifier.sign_envelope(with_message(envelope, **change))
        world.source().verify(request_for(envelope), NOW)
        with pytest.raises(VerificationFailed):
            world.source().verify(request_for(tampered), NOW)


def test_a_message_signed_with_another_key_is_refused(world: World) -> None:
    stranger = dataclasses.replace(
        stranger_keys(),
        sns_private_key=world.keys.sns_private_key,
        sns_cert_url=world.keys.sns_cert_url,
        sns_certificate_pem=world.keys.sns_certificate_pem,
    )
    envelope = world.notifier(stranger).notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW)


def test_an_envelope_signed_by_another_sns_key_is_refused(world: World) -> None:
    stranger = dataclasses.replace(
        stranger_keys(),
        ivvy_private_key=world.keys.ivvy_private_key,
        sns_cert_url=world.keys.sns_cert_url,
    )
    envelope = world.notifier(stranger).notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    with pytest.raises(VerificationFailed):
        world.source().verify(request_for(envelope), NOW)


@pytest.mark.parametrize("path", [IVVY_KEY_PATH, PKCS1_KEY_PATH, CERT_KEY_PATH])
def test_public_key_and_rsa_public_key_and_certificate_pems_are_accepted(
    world: World, path: str
) -> None:
    keys = dataclasses.replace(world.keys, ivvy_key_path=path)
    envelope = world.notifier(keys).notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    assert isinstance(deliver(world.source(), envelope, NOW), Accepted)


def test_a_missing_signing_key_is_refused_only_after_a_fetch(world: World) -> None:
    keys = dataclasses.replace(world.keys, ivvy_key_path="/accounts/14/missing.txt")
    envelope = world.notifier(keys).notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    with pytest.raises(UpstreamUnavailable):
        world.source().verify(request_for(envelope), NOW)
    assert world.hits("/ivvy/accounts/14/missing.txt") >= 1


def test_the_account_allow_list(world: World) -> None:
    envelope = world.notifier(account_id="14").notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW
    )
    world.source(accounts=[14, "99"]).verify(request_for(envelope), NOW)
    with pytest.raises(VerificationFailed):
        world.source(accounts=["99"]).verify(request_for(envelope), NOW)


@pytest.mark.parametrize(
    ("options", "api_key", "echo"),
    [
        ({"own_api_key": OWN_KEY}, OWN_KEY, True),
        ({"own_api_key": OWN_KEY}, "someone-else", False),
        ({"own_api_key": OWN_KEY}, None, False),
        ({"ignore_api_keys": ["old-key", OWN_KEY]}, OWN_KEY, True),
        ({}, OWN_KEY, False),
    ],
)
def test_echoes_of_the_bridges_own_api_key_are_skipped(
    world: World, options: dict[str, object], api_key: str | None, echo: bool
) -> None:
    envelope = world.notifier().notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW, api_key=api_key
    )
    result = deliver(world.source(**options), envelope, NOW)
    if echo:
        assert result == Acknowledged(ECHO_REASON)
    else:
        assert isinstance(result, Accepted)
        # The API key that caused a change is never stored with the event.
        if api_key:
            assert api_key not in json.dumps(result.event.to_json())
            assert result.event.raw["message"]["SourceType"] == 1


def test_source_info_as_an_object_and_an_unknown_source_type(world: World) -> None:
    notifier = world.notifier()
    envelope = notifier.notification("CompanyDeleted", {"companyId": 1}, now=NOW)
    as_object = with_message(envelope, SourceType=1, SourceInfo={"key": OWN_KEY})
    message = IvvyMessage.from_json(as_object["Message"])
    assert message.api_key() == OWN_KEY
    not_api = IvvyMessage.from_json(with_message(envelope, SourceInfo={"key": OWN_KEY})["Message"])
    assert not_api.api_key() is None


def test_dedupe_on_message_id_by_default_or_on_txn_id(world: World) -> None:
    notifier = world.notifier()
    first = notifier.notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW, message_id="m-1", txn_id="t-1"
    )
    retry = notifier.notification(
        "CompanyDeleted", {"companyId": 1}, now=NOW, message_id="m-1", txn_id="t-1"
    )
    by_message = [deliver(world.source(), e, NOW) for e in (first, retry)]
    assert {r.dedupe_key for r in by_message if isinstance(r, Accepted)} == {"id:sns:m-1"}
    by_txn = deliver(world.source(dedupe_on="txn_id"), first, NOW)
    assert isinstance(by_txn, Accepted) and by_txn.dedupe_key == "id:txn:t-1"
    by_path = deliver(world.source(dedupe_key="body.companyId"), first, NOW)
    assert isinstance(by_path, Accepted) and by_path.dedupe_key == "key:1"


def test_the_event_survives_a_json_round_trip_without_signatures(world: World) -> None:
    envelope = world.notifier().notification("CompanyDeleted", {"companyId": 7}, now=NOW)
    result = deliver(world.source(), envelope, NOW)
    assert isinstance(result, Accepted)
    stored = json.loads(json.dumps(result.event.to_json()))
    assert Event.from_json(stored) == result.event
    assert "Signature" not in json.dumps(stored)
    context = result.event.context()
    assert (context["subject"], context["data"]) == ("CompanyDeleted", {"companyId": 7})


def test_the_type_is_registered_and_accepts_any_content_type() -> None:
    assert SOURCE_TYPES["ivvy"] is IvvySource
    assert IvvySource.content_types == frozenset()


@pytest.mark.parametrize(
    "options",
    [
        {"type": "ivvy"},
        {"type": "ivvy", "topics": []},
        {"type": "ivvy", "topics": ["arn:t"], "dedupe_on": "body"},
        {"type": "ivvy", "topics": ["arn:t"], "sns_cert_url_pattern": "(unclosed"},
        {"type": "ivvy", "topics": ["arn:t"], "fetch_timeout": 0},
    ],
)
def test_invalid_options_fail_at_construction(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        build_source("bad", options)
