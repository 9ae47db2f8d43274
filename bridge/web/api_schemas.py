"""Schemas for what the admin API takes in: query filters and request bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bridge.store.backtest_reads import MAX_LAST
from bridge.store.queries import CURSOR_PATTERN, EVENT_STATES, MAX_PAGE


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset (UTC when it has none) that UTC can hold: the store
    compares in UTC, and ``0001-01-01T00:00:00+01:00`` is before UTC's year 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("is out of range once converted to UTC") from None


class EventFilterSchema(Schema):
    """``GET /api/events`` query string."""

    source = fields.String(validate=validate.Length(max=64))
    state = fields.String(validate=validate.OneOf(EVENT_STATES))
    since = UtcDateTime(default_timezone=UTC)
    until = UtcDateTime(default_timezone=UTC)
    q = fields.String(validate=validate.Length(min=1, max=320), data_key="q")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(
        validate=validate.Regexp(CURSOR_PATTERN, error="cursor is not one this API returned")
    )


class CountsQuerySchema(Schema):
    """``GET /api/stats`` query string."""

    unit = fields.String(load_default="hour", validate=validate.OneOf(("hour", "day")))
    since = UtcDateTime(default_timezone=UTC)
    until = UtcDateTime(default_timezone=UTC)


class LimitQuerySchema(Schema):
    """A page size alone."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class ReplaySchema(Schema):
    """``POST /api/events/<id>/replay`` body."""

    rules = fields.String(load_default="current", validate=validate.OneOf(("current", "original")))


class _StringOrObject(fields.Field):
    """A payload given as the raw body text, or as a JSON object/array to send as JSON."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str | dict | list):
            raise ValidationError("must be a string (the raw body) or a JSON object")
        return value


class PreviewSchema(Schema):
    """``POST /api/preview`` body."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    payload = _StringOrObject(required=True)
    content_type = fields.String(validate=validate.Length(min=1, max=255))

    @validates_schema
    def _string_payload_needs_no_json_type(self, data: dict[str, Any], **_: Any) -> None:
        if not isinstance(data.get("payload"), str) and data.get("content_type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/")
        ):
            raise ValidationError("a form-encoded payload must be given as a string", "payload")


class BacktestQuerySchema(Schema):
    """``GET /api/backtest`` query string."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    last = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LAST))


event_filters = EventFilterSchema()
counts_query = CountsQuerySchema()
limit_query = LimitQuerySchema()
replay_body = ReplaySchema()
preview_body = PreviewSchema()
backtest_query = BacktestQuerySchema()
