"""``tally``: ``Tally-Signature: <base64 HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources import register
from bridge.sources.answers import add_labelled, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import OpenSchema, json_object, load
from bridge.sources.verification import (
    decode_signature,
    require_header,
    require_signature,
    secret_keys,
)

# Single-choice types: one selected option becomes its text, not a one-item list.
SINGLE_CHOICE_TYPES = frozenset({"MULTIPLE_CHOICE", "DROPDOWN"})
TYPED_FIELDS = {"INPUT_EMAIL": "email", "INPUT_PHONE_NUMBER": "phone"}


class TallyOptionsSchema(SignedOptionsSchema):
    """Options of a ``tally`` source: ``secrets``/``secret`` (required), ``fields``."""


class _Field(OpenSchema):
    key = mfields.String(required=True)
    label = mfields.String(allow_none=True)
    type = mfields.String(required=True)
    value = mfields.Raw(allow_none=True)
    options = mfields.List(mfields.Dict(), load_default=None)


class _Data(OpenSchema):
    form_id = mfields.String(data_key="formId", allow_none=True)
    answer_fields = mfields.List(mfields.Nested(_Field), data_key="fields", load_default=list)


class TallyPayload(OpenSchema):
    """A Tally webhook delivery."""

    event_id = mfields.String(data_key="eventId", required=True)
    event_type = mfields.String(data_key="eventType", required=True)
    data = mfields.Nested(_Data, required=True)


def _texts(ids: list[Any], choices: list[dict[str, Any]] | None) -> list[Any]:
    by_id = {c.get("id"): c.get("text") for c in choices or []}
    return [by_id.get(i, i) for i in ids]


def field_value(field: dict[str, Any]) -> Any:
    """A field's value with option ids resolved to the options' text."""
    value = field.get("value")
    if isinstance(value, list) and field.get("options"):
        texts = _texts(value, field["options"])
        if field["type"] in SINGLE_CHOICE_TYPES and len(texts) == 1:
            return texts[0]
        return texts
    if isinstance(value, dict) and field.get("rows") and field.get("columns"):
        rows = {r.get("id"): r.get("text") for r in field["rows"]}
        return {rows.get(k, k): _texts(v or [], field["columns"]) for k, v in value.items()}
    return value


@register
class TallySource(SourceType):
    """Tally's ``FORM_RESPONSE`` webhooks."""

    type_name = "tally"
    credential_headers = frozenset({"tally-signature"})
    options_schema = TallyOptionsSchema
    _payload_schema = TallyPayload()

    def verify(self, request: InboundRequest, now: datetime) -> None:
        signature = require_header(request, "tally-signature")
        presented = [decode_signature(signature, "base64")]
        require_signature(secret_keys(self.options), request.body, presented)

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = json_object(request.body)
        payload = load(self._payload_schema, raw, "Tally")
        answers: dict[str, Any] = {}
        typed: dict[str, Any] = {}
        for field in payload["data"]["answer_fields"]:
            value = field_value(field)
            add_labelled(answers, field["key"], field.get("label"), value)
            common = TYPED_FIELDS.get(field["type"])
            if common:
                typed.setdefault(common, value)
        event = make_event(
            self,
            kind=payload["event_type"],
            external_id=payload["event_id"],
            now=now,
            answers=answers,
            typed=typed,
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, payload["event_id"], request.body))
