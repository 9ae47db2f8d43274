"""``form``: plain JSON (or urlencoded) posts authenticated by a shared token."""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any

from marshmallow import fields

from bridge.events import COMMON_FIELDS, Event
from bridge.sources import register
from bridge.sources.base import (
    Accepted,
    InboundRequest,
    PayloadInvalid,
    SourceOptionsSchema,
    SourceType,
    VerificationFailed,
)


class FormOptionsSchema(SourceOptionsSchema):
    """Options of a ``form`` source."""

    # One token, or several while rotating.
    token = fields.String(load_default=None)
    tokens = fields.List(fields.String(), load_default=list)


@register
class FormSource(SourceType):
    """A generic form post: ``X-Bridge-Token`` header or ``?token=``."""

    type_name = "form"
    options_schema = FormOptionsSchema

    def _tokens(self) -> list[str]:
        tokens = list(self.options.get("tokens") or [])
        if self.options.get("token"):
            tokens.append(self.options["token"])
        return tokens

    def verify(self, request: InboundRequest, now: datetime) -> None:
        presented = request.header("x-bridge-token") or request.query.get("token") or ""
        ok = False
        for token in self._tokens():
            # Evaluate every token so timing does not reveal which one matched.
            ok |= hmac.compare_digest(presented.encode(), token.encode())
        if not ok:
            raise VerificationFailed("token mismatch")

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        try:
            payload: Any = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PayloadInvalid("the body is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise PayloadInvalid("the body must be a JSON object")
        common = {k: str(v) for k, v in payload.items() if k in COMMON_FIELDS and v is not None}
        event = Event(
            source=self.name,
            source_type=self.type_name,
            kind=str(payload.get("kind") or "submission"),
            external_id=str(payload["id"]) if payload.get("id") is not None else None,
            received_at=now,
            fields=common,
            answers=dict(payload),
            raw=payload,
        )
        return Accepted(event, self.dedupe_key(payload, event.external_id, request.body))
