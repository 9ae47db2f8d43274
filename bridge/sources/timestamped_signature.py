"""The ``t=<unix>,v1=<hex>`` signature that Calendly and Formspree both send.

Stripe-style: HMAC-SHA256, hex, of the timestamp, a dot and the raw body.  The
header is parsed defensively (spaces, several ``v1`` entries, other schemes
ignored) and the timestamp must be within the tolerance either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from bridge.sources.base import InboundRequest, SourceType, VerificationFailed
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.verification import (
    decode_signature,
    require_fresh,
    require_header,
    require_signature,
    secret_keys,
    tolerance,
)


class TimestampedSignatureOptionsSchema(SignedOptionsSchema):
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


class TimestampedSignatureSource(SourceType):
    """A sender that signs with a ``t=,v1=`` header; subclasses name the header."""

    signature_header: ClassVar[str]
    options_schema = TimestampedSignatureOptionsSchema

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
