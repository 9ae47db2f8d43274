"""Decoding a verified body (JSON, urlencoded, multipart) and loading it through a schema.

Every failure becomes :class:`PayloadInvalid` with a message safe to return:
it names the fields at fault, never their values.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from marshmallow import INCLUDE, Schema, ValidationError, utils
from marshmallow import fields as mfields

from bridge.sources.base import InboundRequest, PayloadInvalid
from bridge.sources.decoding import UnsafeJSON, decode_json, safe_text


class OpenSchema(Schema):
    """A payload shape that keeps the fields it does not declare."""

    class Meta:
        unknown = INCLUDE


# Marshmallow's own messages, so an ObjectList reads exactly like List(Nested(...)).
_MISSING = mfields.Field.default_error_messages["required"]
_NULL = mfields.Field.default_error_messages["null"]
_NOT_A_STRING = mfields.String.default_error_messages["invalid"]
_NOT_AN_OBJECT = Schema._default_error_messages["type"]


@dataclass(frozen=True)
class Shape:
    """What each object of an :class:`ObjectList` must hold; other keys pass unchecked.

    ``strings`` maps a key to True when it is required (present, not null) or
    False when it may be absent or null; ``objects`` are required nested objects.
    """

    strings: Mapping[str, bool] = field(default_factory=dict)
    objects: Mapping[str, Shape] = field(default_factory=dict)

    def errors(self, item: Any) -> Any:
        """The messages ``Nested(<schema of this shape>)`` would give ``item``; None if it fits."""
        # ``type() is dict`` first: JSON gives dicts, and the ABC check costs more than the rest.
        if type(item) is not dict and not isinstance(item, Mapping):
            return [_NULL] if item is None else {"_schema": [_NOT_AN_OBJECT]}
        found: dict[str, Any] = {}
        for key, required in self.strings.items():
            value = item.get(key)
            if isinstance(value, str):
                continue
            if value is not None:
                found[key] = [_NOT_A_STRING]
            elif required:
                found[key] = [_NULL if key in item else _MISSING]
        for key, shape in self.objects.items():
            inner = shape.errors(item[key]) if key in item else [_MISSING]
            if inner:
                found[key] = inner
        return found or None


class ObjectList(mfields.Field[list[Any]]):
    """``List(Nested(schema))`` for simple shapes, checked in plain Python.

    A nested schema load per item was most of the CPU spent on a delivery (42
    loads for a 13-question Typeform); this walks the list once and raises the
    same messages under the same indexes and keys.  Items are returned as they
    came, undeclared keys included.
    """

    default_error_messages = {"invalid": "Not a valid list."}

    def __init__(self, shape: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape = shape

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[Any]:
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        items = list(value)
        errors = {}
        for index, item in enumerate(items):
            problems = self.shape.errors(item)
            if problems:
                errors[index] = problems
        if errors:
            raise ValidationError(errors)
        return items


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, made safe (see ``decoding``)."""
    try:
        payload = decode_json(body)
    except UnsafeJSON as exc:
        raise PayloadInvalid(str(exc)) from exc
    if not isinstance(payload, dict):
        raise PayloadInvalid("the body must be a JSON object")
    return payload


class JsonBody:
    """Mixin for a source type whose event's ``raw`` is the body's JSON object."""

    @classmethod
    def raw_of(cls, request: InboundRequest) -> dict[str, Any]:
        """The body as a JSON object (see :meth:`SourceType.raw_of`)."""
        return json_object(request.body)


def urlencoded_object(body: bytes) -> dict[str, Any]:
    """An ``application/x-www-form-urlencoded`` body; a repeated key becomes a list.

    ``%00`` decodes to NUL and is made safe; invalid UTF-8 in an escape becomes U+FFFD.
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadInvalid("the body is not valid form data") from exc
    out: dict[str, Any] = {}
    for raw_key, raw_value in pairs:
        key, value = safe_text(raw_key), safe_text(raw_value)
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def json_or_urlencoded(request: InboundRequest) -> dict[str, Any]:
    """The body by its content type: urlencoded when declared so, JSON otherwise."""
    if request.content_type == "application/x-www-form-urlencoded":
        return urlencoded_object(request.body)
    return json_object(request.body)


def multipart_fields(request: InboundRequest) -> dict[str, str]:
    """The text parts of a ``multipart/form-data`` body, using the boundary in its header."""
    # Imported here: only multipart senders need werkzeug's parser, and the worker process
    # loads no werkzeug otherwise (BENCHMARKS.md "Memory").
    from werkzeug.exceptions import HTTPException
    from werkzeug.formparser import MultiPartParser
    from werkzeug.http import parse_options_header

    _, params = parse_options_header(request.header("content-type") or "")
    boundary = params.get("boundary")
    if not boundary:
        raise PayloadInvalid("multipart body without a boundary")
    parser = MultiPartParser()
    try:
        form, _files = parser.parse(io.BytesIO(request.body), boundary.encode(), len(request.body))
    except (ValueError, HTTPException) as exc:
        raise PayloadInvalid("the body is not valid multipart data") from exc
    return {safe_text(key): safe_text(form.get(key, "")) for key in form}


def load(schema: Schema, data: Any, sender: str) -> dict[str, Any]:
    """``data`` loaded through ``schema``; unknown fields are kept by the schemas' Meta."""
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise PayloadInvalid(
            f"the payload is not a {sender} delivery (check: {', '.join(_paths(exc.messages))})"
        ) from exc
    assert isinstance(loaded, dict)
    return loaded


def _paths(messages: Any, prefix: str = "") -> list[str]:
    if not isinstance(messages, Mapping):
        return [prefix or "payload"]
    paths: list[str] = []
    for key, inner in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        paths.extend(_paths(inner, name) if isinstance(inner, Mapping) else [name])
    return sorted(set(paths))[:10]
