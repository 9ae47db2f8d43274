"""marshmallow schemas for the top-level sections of the config file (not sources or rules)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from bridge.config import sections as s
from bridge.ivvy.regions import REGION_BASE_URLS, base_url_for
from bridge.rules.calendar import parse_clock_time, parse_weekday
from bridge.rules.country_holidays import subdivisions

_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False)


class Duration(fields.Field):
    """``"24h"``, ``"90m"``, ``"2d"``, ``"1h30m"`` or a number of seconds, as a timedelta."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return timedelta(seconds=value)
        text = str(value).strip().lower().replace(" ", "")
        if not text or _DURATION.sub("", text):
            raise ValidationError("not a duration; write e.g. 90m, 24h, 2d or 1h30m")
        seconds = sum(float(m["n"]) * _UNIT_SECONDS[m["unit"]] for m in _DURATION.finditer(text))
        if seconds <= 0:
            raise ValidationError("must be longer than zero")
        return timedelta(seconds=seconds)


class DateOrRange(fields.Field):
    """``2025-12-25`` or ``2025-12-24..2026-01-02`` (inclusive), as a list of dates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[date]:
        first, _, last = str(value).partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            raise ValidationError("not a date; write 2025-12-25 or 2025-12-24..2026-01-02") from (
                None
            )
        if end < start:
            raise ValidationError("the range ends before it starts")
        if (end - start).days > 366:
            raise ValidationError("a closure longer than a year is surely a typo")
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def validate_timezone(name: str) -> None:
    """Raise ValidationError unless ``name`` is an IANA timezone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown timezone {name!r}; use an IANA name such as Australia/Sydney"
        ) from None


class HolidaysSchema(Schema):
    """Public holidays skipped by business-day arithmetic."""

    country = fields.String(required=True)
    subdivision = fields.String(load_default=None)

    @validates_schema
    def _known(self, data: dict[str, Any], **kwargs: Any) -> None:
        country = data["country"].upper()
        known_subdivisions = subdivisions(country)
        if known_subdivisions is None:
            raise ValidationError(
                f"unknown country {data['country']!r}; use an ISO 3166 code such as AU, GB, US",
                "country",
            )
        subdivision = data.get("subdivision")
        if subdivision and subdivision not in known_subdivisions:
            known = ", ".join(known_subdivisions) or "none"
            raise ValidationError(
                f"unknown subdivision {subdivision!r} for {country} (known: {known})",
                "subdivision",
            )


class ClockTime(fields.Field):
    """A 24-hour ``HH:MM``, as a time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        try:
            return parse_clock_time(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Weekday(fields.Field):
    """``mon`` or ``monday`` (any case), as 0 (Monday) to 6."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return parse_weekday(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class WorkingHoursSchema(Schema):
    """The working day, in the venue's timezone."""

    start = ClockTime(load_default=None)
    end = ClockTime(load_default=None)


# Spaces alone are an unset variable padded out, never a key or a secret.
_NOT_BLANK = validate.Regexp(r"\S", error="must not be blank")


class IvvySchema(Schema):
    """The ``ivvy`` section."""

    region = fields.String(
        load_default=None,
        validate=validate.OneOf(list(REGION_BASE_URLS), error="must be AU, US or UK"),
    )
    base_url = fields.String(load_default=None, validate=_HTTP_URL)
    key = fields.String(required=True, validate=_NOT_BLANK)
    secret = fields.String(required=True, validate=_NOT_BLANK)
    timezone = fields.String(required=True, validate=validate_timezone)
    holidays = fields.Nested(HolidaysSchema, load_default=None)
    closures = fields.List(DateOrRange(), load_default=list)
    workdays = fields.List(Weekday(), validate=validate.Length(min=1), load_default=None)
    working_hours = fields.Nested(WorkingHoursSchema, load_default=None)
    snap_to_working_hours = fields.Boolean(load_default=False)
    web_url = fields.String(load_default=None, validate=_HTTP_URL)
    timeout_seconds = fields.Float(load_default=20.0, validate=validate.Range(min=1, max=300))
    connect_timeout_seconds = fields.Float(
        load_default=3.05, validate=validate.Range(min=0.1, max=60)
    )

    @validates_schema
    def _one_address(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("region") and data.get("base_url"):
            raise ValidationError("give region or base_url, not both", "base_url")
        if not data.get("region") and not data.get("base_url"):
            raise ValidationError("give region (AU, US or UK) or base_url", "region")
        hours = data.get("working_hours") or {}
        if hours.get("start") and hours.get("end") and hours["end"] <= hours["start"]:
            raise ValidationError("end must be after start", "working_hours")

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.IvvySettings:
        hours = data["working_hours"] or {}
        defaults = s.IvvySettings(base_url="", key="", secret="")
        holiday = data["holidays"] or {}
        closures = sorted({day for days in data["closures"] for day in days})
        return s.IvvySettings(
            base_url=base_url_for(data["region"], data["base_url"]),
            key=data["key"],
            secret=data["secret"],
            region=data["region"],
            timezone=data["timezone"],
            holiday_country=holiday["country"].upper() if holiday else None,
            holiday_subdivision=holiday.get("subdivision"),
            closures=tuple(closures),
            workdays=tuple(sorted(set(data["workdays"] or defaults.workdays))),
            work_start=hours.get("start") or defaults.work_start,
            work_end=hours.get("end") or defaults.work_end,
            snap_to_working_hours=data["snap_to_working_hours"],
            web_url=data["web_url"],
            timeout_seconds=data["timeout_seconds"],
            connect_timeout_seconds=data["connect_timeout_seconds"],
        )


class BackoffSchema(Schema):
    """``delivery.backoff``."""

    base_seconds = fields.Float(load_default=2.0, validate=validate.Range(min=0.1))
    cap_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=1))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["cap_seconds"] < data["base_seconds"]:
            raise ValidationError("must be at least base_seconds", "cap_seconds")

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.BackoffSettings:
        return s.BackoffSettings(**data)


class CircuitSchema(Schema):
    """``delivery.circuit``."""

    failures = fields.Integer(load_default=5, validate=validate.Range(min=1))
    cooldown_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=1))

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.CircuitSettings:
        return s.CircuitSettings(**data)


class DeliverySchema(Schema):
    """The ``delivery`` section."""

    max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=100))
    max_age = Duration(load_default=timedelta(hours=24))
    backoff = fields.Nested(BackoffSchema, load_default=s.BackoffSettings)
    lease_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=10))
    concurrency = fields.Integer(load_default=4, validate=validate.Range(min=1, max=64))
    circuit = fields.Nested(CircuitSchema, load_default=s.CircuitSettings)

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.DeliverySettings:
        return s.DeliverySettings(**data)


class RetentionSchema(Schema):
    """The ``retention`` section (days)."""

    events_days = fields.Integer(load_default=30, validate=validate.Range(min=1))
    jobs_days = fields.Integer(load_default=7, validate=validate.Range(min=1))
    # Shorter than a sender's retry window would let a late retry create a second task.
    dedupe_days = fields.Integer(
        load_default=30,
        validate=validate.Range(min=7, error="must be at least 7 days, longer than senders retry"),
    )

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.RetentionSettings:
        return s.RetentionSettings(**data)


class EmailList(fields.Field):
    """One address or a list of them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise ValidationError("give one address or a list of addresses")
        check = validate.Email(error="not an email address")
        return [check(str(item)) for item in items]


class SmtpSchema(Schema):
    """``alerts.smtp``."""

    host = fields.String(required=True)
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    sender = fields.Email(required=True, data_key="from")
    to = EmailList(required=True)
    username = fields.String(load_default=None)
    password = fields.String(load_default=None)
    starttls = fields.Boolean(load_default=True)

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.SmtpSettings:
        return s.SmtpSettings(**{**data, "to": tuple(data["to"])})


class AlertsSchema(Schema):
    """The ``alerts`` section."""

    @pre_load
    def _blank_url_is_none(self, data: Any, **kwargs: Any) -> Any:
        # `webhook_url: ${ALERT_WEBHOOK_URL:-}` leaves it unset when the variable is.
        if isinstance(data, dict) and data.get("webhook_url") == "":
            return {**data, "webhook_url": None}
        return data

    webhook_url = fields.String(load_default=None, allow_none=True, validate=_HTTP_URL)
    smtp = fields.Nested(SmtpSchema, load_default=None)
    dead_job = fields.Boolean(load_default=True)
    oldest_waiting_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=1))
    interval_seconds = fields.Float(load_default=900.0, validate=validate.Range(min=1))

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.AlertSettings:
        return s.AlertSettings(**data)


def _refuse_admin_token(value: Any) -> None:
    raise ValidationError(
        "the admin token comes from the BRIDGE_ADMIN_TOKEN environment variable, never the file"
    )


class AdminSchema(Schema):
    """The ``admin`` section: empty for now; a token here is refused."""

    token = fields.Raw(validate=_refuse_admin_token)

    @post_load
    def _settings(self, data: dict[str, Any], **kwargs: Any) -> s.AdminSettings:
        return s.AdminSettings()
