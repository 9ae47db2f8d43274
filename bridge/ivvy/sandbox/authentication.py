"""Checking a request's iVvy signature, in the order that reproduces iVvy's documented errors.

1. ``X-Api-Authorization: IWS key:signature`` must parse and name a known key.
2. The time (``IVVY-Date``, optional `` UTC`` suffix, else ``Date``) must be within 5 minutes of
   the sandbox clock, either way, else 401/23005 "Request is stale".
3. ``Content-MD5`` must equal the lower-case hex MD5 of the raw body.
4. The signature is recomputed with bridge.ivvy.signing from what was received verbatim.

Every refusal is 401; iVvy documents no specificCode for any but the stale case, so the others
carry ``failure_code`` (None unless the app is told otherwise).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bridge.ivvy.sandbox.body_fields import parse_timestamp
from bridge.ivvy.sandbox.errors import STALE_REQUEST, ApiError
from bridge.ivvy.signing import API_VERSION, content_md5, signature, string_to_sign

AUTHORIZATION_PATTERN = re.compile(r"^IWS ([^:\s]+):([0-9a-f]{40})$")
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class ReceivedRequest:
    """What the signature covers, exactly as it arrived."""

    method: str
    request_target: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        wanted = name.casefold()
        for key, value in self.headers.items():
            if key.casefold() == wanted:
                return value
        return None


def authenticate(
    received: ReceivedRequest,
    credentials: Mapping[str, str],
    now: datetime,
    *,
    failure_code: int | None = None,
) -> str:
    """The caller's API key when the request is correctly signed; ApiError (401) otherwise."""

    def refuse(message: str) -> ApiError:
        return ApiError(401, message, failure_code)

    match = AUTHORIZATION_PATTERN.match(received.header("X-Api-Authorization") or "")
    if match is None:
        raise refuse("X-Api-Authorization must be 'IWS key:signature'")
    key, given = match.groups()
    secret = credentials.get(key)
    if secret is None:
        raise refuse("Unknown API key")

    ivvy_date = received.header("IVVY-Date")
    http_date = received.header("Date")
    sent_at = _request_time(ivvy_date, http_date)
    if sent_at is None:
        raise refuse("A valid IVVY-Date or Date header is required")
    if abs(now - sent_at) > STALE_AFTER:
        raise ApiError(401, "Request is stale", STALE_REQUEST)

    md5 = content_md5(received.body)
    claimed = received.header("Content-MD5")
    if claimed is None or not hmac.compare_digest(claimed.strip().encode(), md5.encode()):
        raise refuse("Content-MD5 does not match the body")

    to_sign = string_to_sign(
        method=received.method,
        md5=md5,
        content_type=received.header("Content-Type") or "",
        date="" if ivvy_date is not None else (http_date or ""),
        request_target=received.request_target,
        ivvy_headers={k: v for k, v in received.headers.items() if k.upper().startswith("IVVY")},
        api_version=API_VERSION,
    )
    if not hmac.compare_digest(signature(secret, to_sign).encode(), given.encode()):
        raise refuse("Signature does not match")
    return key


def _request_time(ivvy_date: str | None, http_date: str | None) -> datetime | None:
    if ivvy_date is not None:
        return parse_timestamp(ivvy_date)
    if http_date is None:
        return None
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
