"""``webflow``: ``x-webflow-signature`` = hex HMAC-SHA256 of ``"<x-webflow-timestamp>:<raw body>"``.

The timestamp is in milliseconds.  Webhooks created in the Webflow dashboard
are not signed: ``unsigned: true`` accepts them with a shared token instead
(``?token=`` in the webhook URL), and marks the source as unsigned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields as mfields

from bridge.sources.answers import add_labelled, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType, member, text_id
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import JsonBody, OpenSchema, load
from bridge.sources.verification import (
    decode_signature,
    require_fresh,
    require_header,
    require_signature,
    require_token,
    secret_keys,
    tolerance,
)


class WebflowOptionsSchema(SignedOptionsSchema):
    """Options of a ``webflow`` source.

    ``secrets``/``secret`` (required unless ``unsigned``), ``tolerance_seconds``,
    ``fields``; ``unsigned: true`` with ``token``/``tokens`` for dashboard webhooks.
    """

    unsigned = mfields.Boolean(load_default=False)
    token = mfields.String(load_default=None)
    tokens = mfields.List(mfields.String(), load_default=list)

    def secret_needed(self, data: dict[str, Any]) -> bool:
        """A secret is needed unless the source is unsigned, which needs a token instead."""
        if data.get("unsigned"):
            if not (data.get("token") or any(data.get("tokens") or [])):
                raise ValidationError("an unsigned webflow source needs a token", "token")
            return False
        return True


class _Submission(OpenSchema):
    id = mfields.String(required=True)
    name = mfields.String(allow_none=True)
    data = mfields.Dict(load_default=dict)


class WebflowPayload(OpenSchema):
    """A Webflow ``form_submission`` delivery."""

    trigger_type = mfields.String(data_key="triggerType", required=True)
    payload = mfields.Nested(_Submission, required=True)


class WebflowSource(JsonBody, SourceType):
    """Webflow's form submission webhooks."""

    type_name = "webflow"
    credential_headers = frozenset({"x-webflow-signature"})
    options_schema = WebflowOptionsSchema
    _payload_schema = WebflowPayload()

    @property
    def unsigned(self) -> bool:
        """True when this source accepts Webflow's unsigned dashboard webhooks (token only)."""
        return bool(self.options.get("unsigned"))

    def verify(self, request: InboundRequest, now: datetime) -> None:
        if self.unsigned:
            require_token(request, self.options)
            return
        timestamp = require_header(request, "x-webflow-timestamp")
        signature = require_header(request, "x-webflow-signature")
        require_fresh(timestamp, now, tolerance(self.options), unit="ms")
        message = timestamp.encode() + b":" + request.body
        presented = [decode_signature(signature, "hex")]
        require_signature(secret_keys(self.options), message, presented)

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        return text_id(member(raw, "payload", "id"))

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
        payload = load(self._payload_schema, raw, "Webflow")
        submission = payload["payload"]
        answers: dict[str, Any] = {}
        for label, value in submission["data"].items():
            add_labelled(answers, label, label, value)
        event = make_event(
            self,
            kind=payload["trigger_type"],
            external_id=submission["id"],
            now=now,
            answers=answers,
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, self.sender_id(raw, request), request.body))
