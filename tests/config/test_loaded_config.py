"""The loaded Config: typed sections, defaults, calendar, built sources, rules text and digest."""

from __future__ import annotations

import hashlib
from datetime import date, time, timedelta

import pytest

from bridge.config import Config, ConfigError, load_config
from bridge.rules.calendar import BusinessCalendar
from bridge.sources.base import SourceType


def test_typed_sections_and_defaults(write_config, env, valid_text) -> None:
    config = load_config(write_config(valid_text), env)
    assert isinstance(config, Config)
    assert config.ivvy.region == "AU"
    assert config.ivvy.timeout == (3.05, 20.0)
    assert config.ivvy.work_start == time(9) and config.ivvy.work_end == time(17)
    assert config.delivery.max_attempts == 8
    assert config.delivery.max_age == timedelta(hours=24)
    assert config.delivery.backoff.cap_seconds == 600
    assert config.delivery.circuit.failures == 5
    assert config.retention.dedupe_days == 30
    assert config.alerts.enabled is False
    assert all(isinstance(source, SourceType) for source in config.sources.values())
    assert config.source("website") is config.sources["website"]
    assert [rule.name for rule in config.rules] == ["website-enquiry", "opportunity-won"]
    with pytest.raises(AttributeError):
        config.path = "other"  # type: ignore[misc]


def test_ivvy_source_gets_the_bridges_own_key(write_config, env, valid_text) -> None:
    config = load_config(write_config(valid_text), env)
    assert config.sources["ivvy"].options["own_api_key"] == env["IVVY_API_KEY"]


def test_calendar_from_the_ivvy_section(write_config, env, valid_text) -> None:
    text = valid_text.replace(
        "  holidays: {country: AU, subdivision: NSW}\n",
        "  holidays: {country: AU, subdivision: NSW}\n"
        "  closures: [2026-03-13, 2026-12-24..2026-12-31]\n"
        "  workdays: [mon, tue, wed, thu, fri, sat]\n"
        "  working_hours: {start: 8:30, end: 17:30}\n"
        "  snap_to_working_hours: true\n",
    )
    config = load_config(write_config(text), env)
    calendar = config.calendar()
    assert isinstance(calendar, BusinessCalendar)
    assert calendar.tz_name == "Australia/Sydney"
    assert calendar.work_start == time(8, 30) and calendar.work_end == time(17, 30)
    assert calendar.snap_to_working_hours is True
    assert not calendar.is_business_day(date(2026, 3, 13))  # a closure (a Friday)
    assert calendar.is_business_day(date(2026, 3, 14))  # a Saturday, now a workday
    assert not calendar.is_business_day(date(2026, 12, 28))  # inside the closed range
    assert not calendar.is_business_day(date(2026, 1, 26))  # Australia Day


def test_rules_text_and_digest(write_config, env, valid_text) -> None:
    config = load_config(write_config(valid_text), env)
    assert config.rules_text.startswith("  - name: website-enquiry\n")
    assert config.rules_text.rstrip().endswith('due: "+2 business days at 10:00"')
    assert "delivery" not in config.rules_text
    assert config.rules_digest == hashlib.sha256(config.rules_text.encode()).hexdigest()
    changed_rules = valid_text.replace("+1 business day", "+2 business days")
    changed = load_config(write_config(changed_rules), env)
    assert changed.rules_digest != config.rules_digest
    changed_lease = valid_text.replace("lease_seconds: 60", "lease_seconds: 90")
    same_rules = load_config(write_config(changed_lease), env)
    assert same_rules.rules_digest == config.rules_digest


def test_longer_ivvy_timeout_needs_a_longer_lease(write_config, env, valid_text) -> None:
    text = valid_text.replace("  region: AU\n", "  region: AU\n  timeout_seconds: 50\n")
    with pytest.raises(ConfigError, match=r"more than 63\.05"):
        load_config(write_config(text), env)
    config = load_config(write_config(text.replace("lease_seconds: 60", "lease_seconds: 64")), env)
    assert config.delivery.lease_seconds == 64
