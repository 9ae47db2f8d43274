"""``typeform``: ``Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources.answers import add_answer, add_labelled, make_event
from bridge.sources.base import (
    Accepted,
    InboundRequest,
    SourceType,
    VerificationFailed,
    member,
    text_id,
)
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import JsonBody, ObjectList, OpenSchema, Shape, load
from bridge.sources.verification import (
    decode_signature,
    require_header,
    require_signature,
    secret_keys,
)


class TypeformOptionsSchema(SignedOptionsSchema):
    """Options of a ``typeform`` source: ``secrets``/``secret`` (required), ``fields``."""


# Answers and questions are checked by shape rather than by a schema per item:
# same messages, a fraction of the CPU (see ObjectList).
_FIELD_REF = Shape(strings={"id": True, "ref": False, "type": False})
_ANSWER = Shape(strings={"type": True}, objects={"field": _FIELD_REF})
_QUESTION = Shape(strings={**_FIELD_REF.strings, "title": False})


class _Definition(OpenSchema):
    questions = ObjectList(_QUESTION, data_key="fields", load_default=list)


class _FormResponse(OpenSchema):
    form_id = mfields.String(allow_none=True)
    token = mfields.String(allow_none=True)
    answers = ObjectList(_ANSWER, load_default=list)
    definition = mfields.Nested(_Definition, load_default=dict)
    hidden = mfields.Dict(load_default=dict, allow_none=True)


class TypeformPayload(OpenSchema):
    """A Typeform webhook delivery."""

    event_id = mfields.String(required=True)
    event_type = mfields.String(required=True)
    form_response = mfields.Nested(_FormResponse, required=True)


def answer_value(answer: dict[str, Any]) -> Any:
    """One answer's typed value: text, email, number, ``choice.label``, ``choices.labels``..."""
    kind = answer["type"]
    value = answer.get(kind)
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        if value.get("other"):
            labels.append(value["other"])
        return labels
    return value


class TypeformSource(JsonBody, SourceType):
    """Typeform's ``form_response`` webhooks."""

    type_name = "typeform"
    credential_headers = frozenset({"typeform-signature"})
    options_schema = TypeformOptionsSchema
    _payload_schema = TypeformPayload()

    def verify(self, request: InboundRequest, now: datetime) -> None:
        header = require_header(request, "typeform-signature")
        scheme, _, signature = header.partition("=")
        if scheme.strip().lower() != "sha256":
            raise VerificationFailed("unsupported signature scheme")
        presented = [decode_signature(signature, "base64")]
        require_signature(secret_keys(self.options), request.body, presented)

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        return text_id(member(raw, "event_id"))

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
        payload = load(self._payload_schema, raw, "Typeform")
        response = payload["form_response"]
        definitions = {
            f["id"]: f for f in (response.get("definition") or {}).get("questions") or []
        }
        answers: dict[str, Any] = {}
        typed: dict[str, Any] = {}
        for answer in response["answers"]:
            field = answer["field"]
            definition = definitions.get(field["id"], {})
            value = answer_value(answer)
            ref = field.get("ref") or definition.get("ref")
            title = definition.get("title")
            add_labelled(answers, ref, title, value)
            if not ref and not title:
                add_answer(answers, field["id"], value)
            if answer["type"] == "email":
                typed.setdefault("email", value)
            elif answer["type"] == "phone_number":
                typed.setdefault("phone", value)
        for key, value in (response.get("hidden") or {}).items():
            add_answer(answers, key, value)
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
