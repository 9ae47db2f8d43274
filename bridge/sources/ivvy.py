"""``ivvy``: iVvy notifications delivered by AWS SNS (two RSA signatures, three JSON layers).

``verify`` checks the SNS envelope (allowed topic, trusted certificate, signature) and, for a
Notification, iVvy's own signature and the optional account allow-list.  ``parse`` confirms
subscriptions, skips echoes of the bridge's own API writes and unknown subjects, and turns the
rest into an Event whose ``kind`` is the Subject.  A key, certificate or SubscribeURL that cannot
be fetched raises :class:`~bridge.sources.sns.UpstreamUnavailable` (answer 5xx: SNS retries).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate

from bridge.events import Event
from bridge.sources.base import (
    Accepted,
    Acknowledged,
    InboundRequest,
    PayloadInvalid,
    SourceOptionsSchema,
    SourceType,
    VerificationFailed,
)
from bridge.sources.decoding import UnsafeJSON, decode_json
from bridge.sources.ivvy_message import IvvyMessage, signature_hash, signing_key_url
from bridge.sources.ivvy_subjects import SubjectSpec, find_subject, load_body, person_of
from bridge.sources.sns import KeyCache, SnsVerifier

logger = logging.getLogger(__name__)

ECHO_REASON = "caused by the bridge's own API key"
_PRINTABLE_SUBJECT = re.compile(r"[A-Za-z0-9_.-]{1,80}")


class AccountIdField(fields.Field):
    """An iVvy account id written as a number or a string, kept as a string."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise ValidationError("not an account id")
        return str(value)


def _valid_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f"not a regular expression: {exc}") from exc


class IvvyOptionsSchema(SourceOptionsSchema):
    """Options of an ``ivvy`` source."""

    # Topic ARNs from subscribeToNotifications; anything else is refused.
    topics = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    # Restrict the iVvy AccountId (empty: any account on an allowed topic).
    accounts = fields.List(AccountIdField(), load_default=list)
    # Changes made with these keys are the bridge's own writes (filled from the iVvy credentials).
    own_api_key = fields.String(load_default=None, allow_none=True)
    ignore_api_keys = fields.List(fields.String(), load_default=list)
    dedupe_on = fields.String(
        load_default="message_id", validate=validate.OneOf(["message_id", "txn_id"])
    )
    # Regex (anchored at the start) replacing the https://sns.<region>.amazonaws.com/ rule for
    # SigningCertURL and SubscribeURL; for tests and the sandbox.
    sns_cert_url_pattern = fields.String(load_default=None, allow_none=True, validate=_valid_regex)
    # Replaces iVvy's per-region S3 base for SigningPublicKeyPath; for tests and the sandbox.
    signing_key_base_url = fields.String(load_default=None, allow_none=True)
    fetch_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1, max=15))
    # Refuse envelopes whose SNS Timestamp is further than this from now (off by default:
    # SNS may redeliver for a long time under a custom delivery policy).
    max_age_seconds = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1)
    )


class IvvySource(SourceType):
    """iVvy account or venue notifications, through an SNS HTTP(S) subscription."""

    type_name = "ivvy"
    options_schema = IvvyOptionsSchema
    content_types = frozenset()

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        settings = IvvyOptionsSchema().load(self.options)
        self.settings = settings
        self.timeout = float(settings["fetch_timeout"])
        self.accounts = frozenset(settings["accounts"])
        self.ignored_keys = [
            k for k in [settings["own_api_key"], *settings["ignore_api_keys"]] if k
        ]
        max_age = settings["max_age_seconds"]
        self.sns = SnsVerifier(
            settings["topics"],
            KeyCache(self.timeout, refuse_missing=True),
            url_pattern=settings["sns_cert_url_pattern"],
            max_age=timedelta(seconds=max_age) if max_age else None,
        )
        self.ivvy_keys = KeyCache(self.timeout)

    # Its parse may answer instead of storing: a subscription handshake, an echo of our own change.
    parsed_at_door = True

    # -- verification -------------------------------------------------------------------

    def verify(self, request: InboundRequest, now: datetime) -> None:
        envelope = _envelope(request.body, VerificationFailed)
        if envelope.get("Type") != "Notification":
            self.sns.verify(envelope, now)
            return
        # Both layers are checked as far as they can be before either key is fetched:
        # a forged envelope costs the bridge no request to anyone.
        self.sns.precheck(envelope, now)
        try:
            message = IvvyMessage.from_json(envelope.get("Message"))
            signature = message.signature_bytes()
            key_url = signing_key_url(message, self.settings["signing_key_base_url"])
        except ValueError as exc:
            raise VerificationFailed("not a verifiable iVvy message") from exc
        self.sns.verify(envelope, now)
        key = self.ivvy_keys.get(key_url)
        if not key.verify(signature, message.string_to_sign().encode(), signature_hash()):
            raise VerificationFailed("iVvy signature mismatch")
        if self.accounts and message.account_id not in self.accounts:
            raise VerificationFailed("account not allowed")

    # -- parsing --------------------------------------------------------------------------

    @classmethod
    def raw_of(cls, request: InboundRequest) -> dict[str, Any]:
        """The envelope's and the message's plain keys and the decoded Body (see :func:`_raw`)."""
        envelope = _envelope(request.body, PayloadInvalid)
        message = IvvyMessage.from_json(envelope.get("Message"))
        return _raw(envelope, message, decode_json(message.body, "the Body"))

    def parse(self, request: InboundRequest, now: datetime) -> Accepted | Acknowledged:
        envelope = _envelope(request.body, PayloadInvalid)
        kind = envelope.get("Type")
        if kind == "SubscriptionConfirmation":
            return self.sns.confirm_subscription(envelope, self.timeout)
        if kind == "UnsubscribeConfirmation":
            return Acknowledged("unsubscribe confirmation")
        try:
            message = IvvyMessage.from_json(envelope.get("Message"))
        except ValueError as exc:
            raise PayloadInvalid("the SNS Message is not an iVvy message") from exc
        if self._is_echo(message):
            return Acknowledged(ECHO_REASON)
        spec = find_subject(message.subject)
        if spec is None:
            return self._unknown_subject(message)
        try:
            body = decode_json(message.body, f"the Body of {spec.subject}")
            data, previous = load_body(spec, body)
        except UnsafeJSON as exc:
            raise PayloadInvalid(str(exc)) from exc
        except ValidationError as exc:
            raise PayloadInvalid(f"the Body of {spec.subject} has an unexpected shape") from exc
        raw = _raw(envelope, message, body)
        event = Event(
            source=self.name,
            source_type=self.type_name,
            kind=spec.subject,
            external_id=message.txn_id or None,
            received_at=now,
            fields=common_fields(spec, data),
            data=data,
            previous_data=previous,
            raw=raw,
        )
        if self.settings["dedupe_on"] == "txn_id":
            sender_id = f"txn:{message.txn_id}" if message.txn_id else None
        else:
            message_id = envelope.get("MessageId")
            sender_id = f"sns:{message_id}" if isinstance(message_id, str) and message_id else None
        return Accepted(event, self.dedupe_key(raw, sender_id, request.body))

    def _is_echo(self, message: IvvyMessage) -> bool:
        presented = message.api_key()
        if presented is None:
            return False
        echo = False
        for key in self.ignored_keys:
            # Every key is compared so timing does not reveal which one matched.
            echo |= hmac.compare_digest(presented.encode(), key.encode())
        return echo

    def _unknown_subject(self, message: IvvyMessage) -> Acknowledged:
        shown = (
            message.subject if _PRINTABLE_SUBJECT.fullmatch(message.subject) else "(unprintable)"
        )
        logger.info(
            "iVvy notification with an unknown subject acknowledged",
            extra={"event": "ivvy.unknown_subject", "source": self.name, "subject": shown},
        )
        return Acknowledged(f"unknown subject {shown}")


def _envelope(body: bytes, error: type[Exception]) -> dict[str, Any]:
    """The SNS envelope; ``error`` when it is not JSON, PayloadInvalid when it cannot be carried.

    A body too deep (or with numbers too large) is refused as such even before it is
    verified: the answer is a 400 that stores nothing, never a 500.
    """
    try:
        envelope = decode_json(body)
    except UnsafeJSON as exc:
        if exc.not_json:
            raise error("the body is not an SNS JSON message") from exc
        raise PayloadInvalid(str(exc)) from exc
    if not isinstance(envelope, dict):
        raise error("the body is not an SNS JSON message")
    return envelope


def _raw(envelope: Mapping[str, Any], message: IvvyMessage, body: Any) -> dict[str, Any]:
    """The event's ``raw``: no signatures, no SourceInfo (it may hold an API key)."""
    sns = {k: envelope.get(k) for k in ("Type", "MessageId", "TopicArn", "Timestamp")}
    inner = {
        k: message.raw.get(k) for k in ("TxnId", "Region", "Timestamp", "AccountId", "Subject")
    }
    inner["SourceType"] = message.source_type
    return {"sns": sns, "message": inner, "body": body}


def common_fields(spec: SubjectSpec, data: Mapping[str, Any]) -> dict[str, str]:
    """first_name, last_name, name, email, phone of the record's natural contact."""
    person = person_of(spec, data)
    if person is None:
        return {}
    out: dict[str, str] = {}
    for key, name in (
        ("firstName", "first_name"),
        ("lastName", "last_name"),
        ("email", "email"),
        ("phone", "phone"),
    ):
        value = person.get(key)
        if value not in (None, ""):
            out[name] = str(value)
    full = " ".join(out[k] for k in ("first_name", "last_name") if k in out)
    if full:
        out["name"] = full
    return out
