"""Shared authenticity checks: rotated secrets, HMACs, timestamp windows, shared tokens.

Every comparison is constant-time and every candidate is evaluated, so timing
reveals neither which secret matched nor how much of a signature was right.
Failure messages are for debug logs: they never carry a secret or a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bridge.sources.base import InboundRequest, VerificationFailed

DEFAULT_TOLERANCE_SECONDS = 300
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def configured_values(options: Mapping[str, Any], plural: str, single: str) -> list[str]:
    """The non-empty values of a list option and its single-value twin (``secrets``/``secret``)."""
    values = [str(v) for v in options.get(plural) or [] if v]
    if options.get(single):
        values.append(str(options[single]))
    return values


def secret_keys(options: Mapping[str, Any]) -> list[bytes]:
    """The configured HMAC keys (``secrets`` for rotation, or one ``secret``) as bytes."""
    return [s.encode() for s in configured_values(options, "secrets", "secret")]


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    """The raw HMAC of ``message``."""
    return hmac.new(key, message, ALGORITHMS[algorithm]).digest()


def decode_signature(text: str, encoding: str) -> bytes | None:
    """A presented signature as bytes (``hex`` or ``base64``), or None when it does not decode."""
    text = text.strip()
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def any_digest_matches(expected: Iterable[bytes], presented: Iterable[bytes | None]) -> bool:
    """Whether a presented signature equals an expected digest (constant-time, no early exit)."""
    presented_list = [p for p in presented if p is not None]
    matched = False
    for digest in expected:
        for candidate in presented_list:
            matched |= hmac.compare_digest(digest, candidate)
    return matched


def require_signature(
    keys: list[bytes],
    message: bytes,
    presented: Iterable[bytes | None],
    algorithm: str = "sha256",
) -> None:
    """Raise unless one of ``presented`` is the HMAC of ``message`` under one of ``keys``."""
    if not keys:
        raise VerificationFailed("no secret configured")
    expected = [hmac_digest(key, message, algorithm) for key in keys]
    if not any_digest_matches(expected, presented):
        raise VerificationFailed("signature mismatch")


def require_header(request: InboundRequest, name: str) -> str:
    """A header's value, or :class:`VerificationFailed` when it is missing or blank."""
    value = request.header(name)
    if value is None or not value.strip():
        raise VerificationFailed(f"missing header {name}")
    return value.strip()


def require_fresh(timestamp: str, now: datetime, tolerance: float, unit: str = "s") -> None:
    """Raise unless ``timestamp`` (unix s or ms) is within ``tolerance`` s of ``now``, both ways."""
    try:
        seconds = float(timestamp) / (1000 if unit == "ms" else 1)
    except ValueError as exc:
        raise VerificationFailed("timestamp is not a number") from exc
    if seconds != seconds:  # NaN never compares, so it would pass the window below
        raise VerificationFailed("timestamp is not a number")
    skew = now.timestamp() - seconds
    if skew > tolerance:
        raise VerificationFailed("timestamp too old")
    if skew < -tolerance:
        raise VerificationFailed("timestamp in the future")


def tolerance(options: Mapping[str, Any]) -> float:
    """The configured ``tolerance_seconds`` (default 300)."""
    value = options.get("tolerance_seconds")
    return float(DEFAULT_TOLERANCE_SECONDS if value is None else value)


def presented_tokens(request: InboundRequest) -> list[str]:
    """Tokens a sender can present: ``X-Bridge-Token``, the Basic-auth password, ``?token=``."""
    found = []
    header = request.header("x-bridge-token")
    if header:
        found.append(header.strip())
    auth = request.header("authorization") or ""
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (ValueError, binascii.Error):
            decoded = ""
        if ":" in decoded:
            found.append(decoded.partition(":")[2])
    if request.query.get("token"):
        found.append(request.query["token"])
    return found


def require_token(request: InboundRequest, options: Mapping[str, Any]) -> None:
    """Raise unless the request presents one of the configured ``token``/``tokens``."""
    tokens = [t.encode() for t in configured_values(options, "tokens", "token")]
    if not tokens:
        raise VerificationFailed("no token configured")
    presented = [p.encode() for p in presented_tokens(request)]
    if not presented:
        raise VerificationFailed("no token presented")
    if not any_digest_matches(tokens, presented):
        raise VerificationFailed("token mismatch")
