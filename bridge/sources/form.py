"""``form``: plain JSON (or urlencoded) posts authenticated by a shared token.

The token comes in ``X-Bridge-Token``, as the password of HTTP Basic auth (any
user name), or as ``?token=`` for senders that cannot set headers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.sources.answers import add_compound, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType
from bridge.sources.options import TokenOptionsSchema
from bridge.sources.payloads import json_or_urlencoded
from bridge.sources.verification import require_token


class FormOptionsSchema(TokenOptionsSchema):
    """Options of a ``form`` source: ``token``/``tokens`` (one required), ``fields``."""


class FormSource(SourceType):
    """A generic form post: any flat JSON object or urlencoded form."""

    type_name = "form"
    credential_headers = frozenset({"x-bridge-token", "authorization"})
    options_schema = FormOptionsSchema
    content_types = frozenset({"application/json", "application/x-www-form-urlencoded"})

    def verify(self, request: InboundRequest, now: datetime) -> None:
        require_token(request, self.options)

    @classmethod
    def raw_of(cls, request: InboundRequest) -> dict[str, Any]:
        """The body by its content type: urlencoded fields (a repeated key a list), or JSON."""
        return json_or_urlencoded(request)

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        found = raw.get("id") if isinstance(raw, dict) else None
        return None if found in (None, "") else str(found)

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        payload = self.raw_of(request)
        answers: dict[str, Any] = {}
        for key, value in payload.items():
            add_compound(answers, key, value)
        event = make_event(
            self,
            kind=str(payload.get("kind") or "submission"),
            external_id=payload.get("id"),
            now=now,
            answers=answers,
            raw=payload,
        )
        sender_id = self.sender_id(payload, request)
        return Accepted(event, self.dedupe_key(payload, sender_id, request.body))
