"""Signing of iVvy API requests as a ``requests`` auth hook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import requests

from bridge.clock import utc_now
from bridge.ivvy.signing import API_VERSION, content_md5, signature, string_to_sign

CONTENT_TYPE = "application/json"
IVVY_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def ivvy_date(moment: datetime) -> str:
    """``yyyy-mm-dd HH:MM:SS`` in UTC, the IVVY-Date header value."""
    if moment.tzinfo is None:
        raise ValueError("the clock must return timezone-aware datetimes")
    return moment.astimezone(UTC).strftime(IVVY_DATE_FORMAT)


class IvvyAuth(requests.auth.AuthBase):
    """Adds Content-Type, Content-MD5, IVVY-Date and the IWS signature to a prepared request.

    requests calls it each time a request is prepared, so every attempt is signed afresh.
    """

    def __init__(self, key: str, secret: str, clock: Callable[[], datetime] | None = None) -> None:
        if not key or not secret:
            raise ValueError("an iVvy API key and secret are both required")
        self._key = key
        self._secret = secret
        self._clock = clock or utc_now

    def __repr__(self) -> str:
        return "IvvyAuth(key=<hidden>, secret=<hidden>)"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body if r.body is not None else b""
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body  # send exactly the bytes that are hashed
        if not isinstance(body, bytes):
            raise TypeError("IvvyAuth signs bodies serialised to bytes only")
        md5 = content_md5(body)
        date = ivvy_date(self._clock())
        to_sign = string_to_sign(
            method=r.method or "POST",
            md5=md5,
            content_type=CONTENT_TYPE,
            date="",
            request_target=r.path_url,
            ivvy_headers={"IVVY-Date": date},
        )
        r.headers["Content-Type"] = CONTENT_TYPE
        r.headers["Content-MD5"] = md5
        r.headers["IVVY-Date"] = date
        r.headers["X-Api-Version"] = API_VERSION
        r.headers["X-Api-Authorization"] = f"IWS {self._key}:{signature(self._secret, to_sign)}"
        return r
