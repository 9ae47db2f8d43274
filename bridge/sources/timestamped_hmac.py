"""``calendly`` and ``formspree``: a ``t=<unix>,v1=<hex>`` header over ``"<t>.<raw body>"``.

Both sign Stripe-style: HMAC-SHA256, hex, of the timestamp, a dot and the raw
body.  The header is parsed defensively (spaces, several ``v1`` entries, other
schemes ignored) and the timestamp must be within the tolerance either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from marshmallow import fields as mfields

from bridge.sources import register
from bridge.sources.answers import add_answer, add_labelled, flatten, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType, VerificationFailed
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import OpenSchema, json_object, load
from bridge.sources.verification import (
    decode_signature,
    require_fresh,
    require_header,
    require_signature,
    secret_keys,
    tolerance,
)


class TimestampedHmacOptionsSchema(SignedOptionsSchema):
    """Options: ``secrets``/``secret`` (required), ``tolerance_seconds`` (300), ``fields``."""


def parse_signature_header(value: str) -> tuple[str | None, list[str]]:
    """``t=1,v1=ab, v1=cd`` -> ``("1", ["ab", "cd"])``; unknown schemes are ignored."""
    timestamp: str | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, item = part.partition("=")
        key, item = key.strip().lower(), item.strip()
        if not sep or not item:
            continue
        if key == "t" and timestamp is None:
            timestamp = item
        elif key == "v1":
            signatures.append(item)
    return timestamp, signatures


class TimestampedHmacSource(SourceType):
    """Verification shared by the ``t=,v1=`` senders."""

    signature_header: ClassVar[str]
    options_schema = TimestampedHmacOptionsSchema

    def verify(self, request: InboundRequest, now: datetime) -> None:
        timestamp, signatures = parse_signature_header(
            require_header(request, self.signature_header)
        )
        if timestamp is None or not signatures:
            raise VerificationFailed("malformed signature header")
        require_fresh(timestamp, now, tolerance(self.options))
        message = timestamp.encode() + b"." + request.body
        presented = [decode_signature(s, "hex") for s in signatures]
        require_signature(secret_keys(self.options), message, presented)


class _Invitee(OpenSchema):
    uri = mfields.String(required=True)
    questions_and_answers = mfields.List(mfields.Dict(), load_default=list, allow_none=True)
    scheduled_event = mfields.Dict(load_default=dict, allow_none=True)
    tracking = mfields.Dict(load_default=dict, allow_none=True)
    cancellation = mfields.Dict(load_default=dict, allow_none=True)


class CalendlyPayload(OpenSchema):
    """A Calendly ``invitee.created`` / ``invitee.canceled`` delivery."""

    event = mfields.String(required=True)
    payload = mfields.Nested(_Invitee, required=True)


@register
class CalendlySource(TimestampedHmacSource):
    """Calendly invitee webhooks (``Calendly-Webhook-Signature``)."""

    type_name = "calendly"
    signature_header = "calendly-webhook-signature"
    credential_headers = frozenset({"calendly-webhook-signature"})
    _payload_schema = CalendlyPayload()

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = json_object(request.body)
        payload = load(self._payload_schema, raw, "Calendly")
        invitee = payload["payload"]
        answers: dict[str, Any] = {}
        for item in invitee.get("questions_and_answers") or []:
            add_labelled(answers, None, str(item.get("question") or ""), item.get("answer"))
        scheduled = invitee.get("scheduled_event") or {}
        for part in ("name", "start_time", "end_time", "uri"):
            add_answer(answers, f"scheduled_event_{part}", scheduled.get(part))
        for key, value in (invitee.get("tracking") or {}).items():
            if value is not None:
                add_answer(answers, key, value)
        add_answer(answers, "timezone", invitee.get("timezone"))
        add_answer(answers, "cancel_reason", (invitee.get("cancellation") or {}).get("reason"))
        typed = {
            "name": invitee.get("name"),
            "first_name": invitee.get("first_name"),
            "last_name": invitee.get("last_name"),
            "email": invitee.get("email"),
            "phone": invitee.get("text_reminder_number"),
        }
        event = make_event(
            self,
            kind=payload["event"],
            external_id=invitee["uri"],
            now=now,
            answers=answers,
            typed=typed,
            raw=raw,
        )
        sender_id = f"{payload['event']}:{invitee['uri']}"
        return Accepted(event, self.dedupe_key(raw, sender_id, request.body))


class FormspreePayload(OpenSchema):
    """A Formspree delivery: the submitted fields, flat or under ``submission``."""

    submission = mfields.Dict(load_default=None, allow_none=True)


@register
class FormspreeSource(TimestampedHmacSource):
    """Formspree submission webhooks (``Formspree-Signature``)."""

    type_name = "formspree"
    signature_header = "formspree-signature"
    credential_headers = frozenset({"formspree-signature"})
    _payload_schema = FormspreePayload()

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = json_object(request.body)
        payload = load(self._payload_schema, raw, "Formspree")
        submitted = payload["submission"] if payload.get("submission") else raw
        answers = flatten(submitted)
        sender_id = next(
            (str(submitted[k]) for k in ("_id", "id", "submission_id") if submitted.get(k)),
            None,
        )
        reply_to = submitted.get("_replyto")
        event = make_event(
            self,
            kind=str(raw.get("event") or raw.get("type") or "submission"),
            external_id=sender_id,
            now=now,
            answers=answers,
            typed={"email": reply_to} if reply_to and not submitted.get("email") else None,
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, sender_id, request.body))
