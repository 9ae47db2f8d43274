"""``standard-webhooks``: the Standard Webhooks v1 scheme (Svix, Resend, Clerk and others).

``webhook-signature`` is a space-separated list of ``v1,<base64>`` entries, each
an HMAC-SHA256 of ``"<webhook-id>.<webhook-timestamp>.<raw body>"`` keyed with
the base64-decoded secret (``whsec_`` prefix optional).  Any matching ``v1``
entry is enough; other versions (``v1a``) are ignored.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validates_schema
from marshmallow import fields as mfields

from bridge.sources.answers import flatten, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import JsonBody, OpenSchema, load
from bridge.sources.verification import (
    configured_values,
    decode_signature,
    require_fresh,
    require_header,
    require_signature,
    tolerance,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def secret_key(secret: str) -> bytes | None:
    """The HMAC key of a ``whsec_<base64>`` (or bare base64) secret; None if it does not decode."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        # Padding is added because some senders print their secrets unpadded.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None
    return key or None


class StandardWebhooksOptionsSchema(SignedOptionsSchema):
    """Options: ``secrets``/``secret`` as ``whsec_<base64>`` (required), ``tolerance_seconds``."""

    @validates_schema
    def _secrets_decode(self, data: dict[str, Any], **kwargs: Any) -> None:
        for secret in configured_values(data, "secrets", "secret"):
            key = secret_key(secret)
            if key is None:
                raise ValidationError("a secret is not whsec_ followed by base64", "secrets")
            # The Standard Webhooks specification: secrets are 24 to 64 random bytes.
            if not 24 <= len(key) <= 64:
                raise ValidationError(
                    "a secret must be whsec_ and the base64 of 24 to 64 bytes", "secrets"
                )


class StandardWebhooksPayload(OpenSchema):
    """A Standard Webhooks payload: ``type``, ``timestamp``, ``data`` (the spec recommends them)."""

    type = mfields.String(load_default="webhook")
    data = mfields.Raw(load_default=None, allow_none=True)


def presented_signatures(header: str) -> list[bytes | None]:
    """The decoded ``v1`` entries of a ``webhook-signature`` header."""
    found: list[bytes | None] = []
    for entry in header.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and signature:
            found.append(decode_signature(signature, "base64"))
    return found


class StandardWebhooksSource(JsonBody, SourceType):
    """Any sender following the Standard Webhooks specification."""

    type_name = "standard-webhooks"
    credential_headers = frozenset({"webhook-signature"})
    options_schema = StandardWebhooksOptionsSchema
    _payload_schema = StandardWebhooksPayload()

    def _keys(self) -> list[bytes]:
        keys = (secret_key(s) for s in configured_values(self.options, "secrets", "secret"))
        return [key for key in keys if key is not None]

    def verify(self, request: InboundRequest, now: datetime) -> None:
        msg_id = require_header(request, "webhook-id")
        timestamp = require_header(request, "webhook-timestamp")
        signature = require_header(request, "webhook-signature")
        require_fresh(timestamp, now, tolerance(self.options))
        message = f"{msg_id}.{timestamp}.".encode() + request.body
        require_signature(self._keys(), message, presented_signatures(signature))

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        return (request.header("webhook-id") or "").strip() or None

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
        payload = load(self._payload_schema, raw, "Standard Webhooks")
        data = payload.get("data")
        data = data if isinstance(data, dict) else {}
        msg_id = self.sender_id(raw, request)
        event = make_event(
            self,
            kind=payload["type"],
            external_id=msg_id,
            now=now,
            answers=flatten(data),
            data=data,
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, msg_id, request.body))
