"""``jotform``: unsigned multipart posts, authenticated by a shared token in the URL or a header.

Jotform signs nothing, so the webhook URL carries ``?token=`` (or a proxy adds
``X-Bridge-Token``).  The answers come from ``rawRequest``, a JSON string whose
keys are ``q<N>_<name>``; the lossy ``pretty`` text is never parsed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources.answers import add_compound, make_event
from bridge.sources.base import (
    Accepted,
    InboundRequest,
    PayloadInvalid,
    SourceType,
    member,
    text_id,
)
from bridge.sources.decoding import UnsafeJSON, decode_json
from bridge.sources.options import TokenOptionsSchema
from bridge.sources.payloads import OpenSchema, load, multipart_fields
from bridge.sources.verification import require_token

QUESTION_KEY = re.compile(r"^q\d+_(.+)$")


class JotformOptionsSchema(TokenOptionsSchema):
    """Options of a ``jotform`` source: ``token``/``tokens`` (required), ``fields``."""


class JotformPayload(OpenSchema):
    """The multipart fields of a Jotform delivery."""

    submission_id = mfields.String(data_key="submissionID", required=True)
    form_id = mfields.String(data_key="formID", load_default=None)
    form_title = mfields.String(data_key="formTitle", load_default=None)
    raw_request = mfields.String(data_key="rawRequest", required=True)


def question_answers(raw_request: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by question name (``email``) and by full key (``q4_email``).

    Name and phone objects are flattened; uploaded files are the URLs Jotform
    lists under the bare question name.
    """
    answers: dict[str, Any] = {}
    uploads = raw_request.get("temp_upload")
    for key, value in raw_request.items():
        match = QUESTION_KEY.match(key)
        if match:
            add_compound(answers, match.group(1), value)
            add_compound(answers, key, value)
    for key in uploads if isinstance(uploads, dict) else {}:
        match = QUESTION_KEY.match(key)
        if match and match.group(1) in raw_request:
            answers.setdefault(match.group(1), raw_request[match.group(1)])
            answers.setdefault(key, raw_request[match.group(1)])
    return answers


class JotformSource(SourceType):
    """Jotform's submission webhooks."""

    type_name = "jotform"
    credential_headers = frozenset({"x-bridge-token", "authorization"})
    options_schema = JotformOptionsSchema
    content_types = frozenset({"multipart/form-data"})
    _payload_schema = JotformPayload()

    def verify(self, request: InboundRequest, now: datetime) -> None:
        require_token(request, self.options)

    @classmethod
    def raw_of(cls, request: InboundRequest) -> dict[str, Any]:
        """The multipart fields, ``rawRequest`` decoded from its JSON."""
        form = multipart_fields(request)
        return {**form, "rawRequest": _raw_request(form.get("rawRequest", ""))}

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        return text_id(member(raw, "submissionID"))

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        form = multipart_fields(request)
        payload = load(self._payload_schema, form, "Jotform")
        raw_request = _raw_request(payload["raw_request"])
        raw = {**form, "rawRequest": raw_request}
        event = make_event(
            self,
            kind="submission",
            external_id=payload["submission_id"],
            now=now,
            answers=question_answers(raw_request),
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, self.sender_id(raw, request), request.body))


def _raw_request(text: str) -> dict[str, Any]:
    """``rawRequest``, a JSON object in a form field."""
    try:
        raw_request = decode_json(text, "rawRequest")
    except UnsafeJSON as exc:
        raise PayloadInvalid(str(exc)) from exc
    if not isinstance(raw_request, dict):
        raise PayloadInvalid("rawRequest must be a JSON object")
    return raw_request
