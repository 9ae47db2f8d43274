"""``formspree``: submission webhooks signed in ``Formspree-Signature`` (``t=,v1=``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources.answers import flatten, make_event
from bridge.sources.base import Accepted, InboundRequest
from bridge.sources.payloads import JsonBody, OpenSchema, load
from bridge.sources.timestamped_signature import TimestampedSignatureSource


class FormspreePayload(OpenSchema):
    """A Formspree delivery: the submitted fields, flat or under ``submission``."""

    submission = mfields.Dict(load_default=None, allow_none=True)


class FormspreeSource(JsonBody, TimestampedSignatureSource):
    """Formspree submission webhooks (``Formspree-Signature``)."""

    type_name = "formspree"
    signature_header = "formspree-signature"
    credential_headers = frozenset({signature_header})
    _payload_schema = FormspreePayload()

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        if not isinstance(raw, dict):
            return None
        submitted = raw.get("submission") or raw
        if not isinstance(submitted, dict):
            return None
        return next(
            (str(submitted[k]) for k in ("_id", "id", "submission_id") if submitted.get(k)),
            None,
        )

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
        payload = load(self._payload_schema, raw, "Formspree")
        submitted = payload["submission"] if payload.get("submission") else raw
        answers = flatten(submitted)
        sender_id = self.sender_id(raw, request)
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
