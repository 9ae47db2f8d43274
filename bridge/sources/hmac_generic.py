"""``hmac``: a configurable HMAC header, for Formstack and any sender that signs the same way.

The signed bytes come from ``signed_content``, a template over ``{timestamp}``,
``{id}`` and ``{body}`` (the raw body, never re-encoded).  Formstack is::

    type: hmac
    header: X-FS-Signature
    prefix: "sha256="
    dedupe_key: UniqueID
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validates_schema
from marshmallow import fields as mfields
from marshmallow.validate import OneOf

from bridge.sources.answers import add_compound, make_event
from bridge.sources.base import Accepted, InboundRequest, SourceType, VerificationFailed
from bridge.sources.options import SignedOptionsSchema
from bridge.sources.payloads import json_or_urlencoded
from bridge.sources.verification import (
    ALGORITHMS,
    decode_signature,
    require_fresh,
    require_header,
    require_signature,
    secret_keys,
    tolerance,
)

PLACEHOLDER = re.compile(r"\{(timestamp|id|body)\}")
# Formstack sends a compound field urlencoded as "first = John\nlast = Smith".
SUBFIELD_LINE = re.compile(r"^\s*([\w ]+?)\s*=\s?(.*)$")


class HmacOptionsSchema(SignedOptionsSchema):
    """Options of an ``hmac`` source (see the module docstring for Formstack's)."""

    header = mfields.String(required=True)
    algorithm = mfields.String(load_default="sha256", validate=OneOf(sorted(ALGORITHMS)))
    encoding = mfields.String(load_default="hex", validate=OneOf(["hex", "base64"]))
    prefix = mfields.String(load_default="")
    signed_content = mfields.String(load_default="{body}")
    timestamp_header = mfields.String(load_default=None)
    timestamp_unit = mfields.String(load_default="s", validate=OneOf(["s", "ms"]))
    id_header = mfields.String(load_default=None)
    kind = mfields.String(load_default="submission")

    @validates_schema
    def _template_has_its_headers(self, data: dict[str, Any], **kwargs: Any) -> None:
        used = set(PLACEHOLDER.findall(data.get("signed_content") or "{body}"))
        if "body" not in used:
            raise ValidationError("signed_content must include {body}", "signed_content")
        for name, option in (("timestamp", "timestamp_header"), ("id", "id_header")):
            if name in used and not data.get(option):
                raise ValidationError(f"{{{name}}} needs {option}", "signed_content")


def signed_bytes(template: str, body: bytes, values: dict[str, str]) -> bytes:
    """The template with ``{body}`` as the raw bytes and the other placeholders as text."""
    out = b""
    position = 0
    for match in PLACEHOLDER.finditer(template):
        out += template[position : match.start()].encode()
        name = match.group(1)
        out += body if name == "body" else values[name].encode()
        position = match.end()
    return out + template[position:].encode()


def subfields(value: Any) -> Any:
    """``"first = John\\nlast = Smith"`` -> ``{"first": "John", "last": "Smith"}``, else as is."""
    if not isinstance(value, str) or "=" not in value:
        return value
    lines = [SUBFIELD_LINE.match(line) for line in value.splitlines() if line.strip()]
    if not lines or not all(lines):
        return value
    return {m.group(1): m.group(2) for m in lines if m}


class HmacSource(SourceType):
    """A sender that signs the body (and maybe a timestamp and id) with an HMAC header."""

    type_name = "hmac"
    options_schema = HmacOptionsSchema
    content_types = frozenset({"application/json", "application/x-www-form-urlencoded"})

    def verify(self, request: InboundRequest, now: datetime) -> None:
        options = self.options
        signature = require_header(request, str(options["header"]))
        prefix = str(options.get("prefix") or "")
        if prefix:
            if not signature.lower().startswith(prefix.lower()):
                raise VerificationFailed("signature without the expected prefix")
            signature = signature[len(prefix) :]
        values: dict[str, str] = {}
        if options.get("timestamp_header"):
            values["timestamp"] = require_header(request, options["timestamp_header"])
            unit = options.get("timestamp_unit") or "s"
            require_fresh(values["timestamp"], now, tolerance(options), unit=unit)
        if options.get("id_header"):
            values["id"] = require_header(request, options["id_header"])
        template = str(options.get("signed_content") or "{body}")
        if not set(PLACEHOLDER.findall(template)) <= {"body", *values}:
            raise VerificationFailed("signed_content names a header that is not configured")
        presented = [decode_signature(signature, str(options.get("encoding") or "hex"))]
        message = signed_bytes(template, request.body, values)
        algorithm = str(options.get("algorithm") or "sha256")
        require_signature(secret_keys(options), message, presented, algorithm)

    @classmethod
    def raw_of(cls, request: InboundRequest) -> dict[str, Any]:
        """The body by its content type: urlencoded fields (a repeated key a list), or JSON."""
        return json_or_urlencoded(request)

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        if not self.options.get("id_header"):
            return None
        return (request.header(self.options["id_header"]) or "").strip() or None

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        payload = self.raw_of(request)
        answers: dict[str, Any] = {}
        for key, value in payload.items():
            add_compound(answers, key, subfields(value))
        sender_id = self.sender_id(payload, request)
        dedupe_key = self.dedupe_key(payload, sender_id, request.body)
        external_id = sender_id or (dedupe_key[4:] if dedupe_key.startswith("key:") else None)
        event = make_event(
            self,
            kind=str(self.options.get("kind") or "submission"),
            external_id=external_id,
            now=now,
            answers=answers,
            raw=payload,
        )
        return Accepted(event, dedupe_key)
