"""``tally``: ``Tally-Signature: <base64 HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources.answers import add_labelled, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType, member, text_id
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import JsonBody, OpenSchema, load
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


def _is_key(value: Any) -> bool:
    # Option and row ids are strings or numbers; anything else (a list, an object) is no id.
    return isinstance(value, str | int | float)


def _by_id(items: Any) -> dict[Any, Any]:
    """``{id: text}`` of a list of ``{id, text}`` objects; other items are skipped."""
    if not isinstance(items, list):
        return {}
    return {
        item.get("id"): item.get("text")
        for item in items
        if isinstance(item, dict) and _is_key(item.get("id"))
    }


def _texts(ids: Any, choices: Any) -> Any:
    if not isinstance(ids, list):
        return ids
    by_id = _by_id(choices)
    return [by_id.get(i, i) if _is_key(i) else i for i in ids]


def field_value(field: dict[str, Any]) -> Any:
    """A field's value with option ids resolved to the options' text."""
    value = field.get("value")
    if isinstance(value, list) and field.get("options"):
        texts = _texts(value, field["options"])
        if field["type"] in SINGLE_CHOICE_TYPES and len(texts) == 1:
            return texts[0]
        return texts
    if isinstance(value, dict) and field.get("rows") and field.get("columns"):
        rows = _by_id(field["rows"])
        return {
            _row_label(rows.get(k), k): _texts(v or [], field["columns"]) for k, v in value.items()
        }
    return value


def _row_label(text: Any, key: str) -> str:
    return text if isinstance(text, str) else key


class TallySource(JsonBody, SourceType):
    """Tally's ``FORM_RESPONSE`` webhooks."""

    type_name = "tally"
    credential_headers = frozenset({"tally-signature"})
    options_schema = TallyOptionsSchema
    _payload_schema = TallyPayload()

    def verify(self, request: InboundRequest, now: datetime) -> None:
        signature = require_header(request, "tally-signature")
        presented = [decode_signature(signature, "base64")]
        require_signature(secret_keys(self.options), request.body, presented)

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        return text_id(member(raw, "eventId"))

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
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
        return Accepted(event, self.dedupe_key(raw, self.sender_id(raw, request), request.body))
