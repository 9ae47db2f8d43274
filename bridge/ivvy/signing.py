"""iVvy's request signature (HMAC-SHA1 over a lower-cased canonical string).

Pure functions shared by the client (which signs) and the sandbox (which checks).
The algorithm: https://developer.ivvy.com/getting-started/creating-the-request/signing-the-request
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

API_VERSION = "1.0"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def content_md5(body: bytes) -> str:
    """Lower-case hex MD5 of the exact body bytes (iVvy's Content-MD5 value)."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def ivvy_headers_part(headers: Mapping[str, str]) -> str:
    """``name=value`` for every header starting with IVVY, dashes/underscores removed, sorted."""
    parts = []
    for name, value in headers.items():
        if name.upper().startswith("IVVY"):
            parts.append(f"{name.replace('-', '').replace('_', '')}={value}")
    return "&".join(sorted(parts, key=str.lower))


def string_to_sign(
    *,
    method: str,
    md5: str,
    content_type: str,
    date: str,
    request_target: str,
    ivvy_headers: Mapping[str, str],
    api_version: str = API_VERSION,
) -> str:
    """The canonical string iVvy signs, already lower-cased.

    ``date`` is the ``Date`` header's value, or ``""`` when ``IVVY-Date`` is used.
    ``request_target`` is path plus query, e.g. ``/api/1.0/test?action=ping``.
    """
    initial = (
        method
        + md5
        + content_type
        + date
        + request_target
        + api_version
        + ivvy_headers_part(ivvy_headers)
    )
    return initial.lower()


def signature(secret: str, to_sign: str) -> str:
    """Lower-case hex HMAC-SHA1 of the string to sign, keyed by the API secret."""
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).hexdigest()
