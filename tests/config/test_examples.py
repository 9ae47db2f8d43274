"""The shipped examples: every config loads, and every sample payload triggers its rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.config import Config, ConfigError, load_config
from bridge.rules.engine import evaluate
from bridge.sources.base import Accepted, InboundRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)  # a Thursday, 14:00 in Sydney


def example_env(path: Path) -> dict[str, str]:
    """A value for every variable the file uses (a URL where one is needed)."""
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text()))
    env = {name: f"value-of-{name.lower()}" for name in names}
    if "IVVY_BASE_URL" in env:
        env["IVVY_BASE_URL"] = "http://127.0.0.1:5999"
    return env


def load_example(name: str) -> Config:
    path = EXAMPLES / name
    return load_config(path, example_env(path))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_loads(path: Path) -> None:
    config = load_config(path, example_env(path))
    assert config.sources and config.rules


def test_every_variable_in_an_example_is_required() -> None:
    path = EXAMPLES / "bridge.yaml"
    env = example_env(path)
    del env["TYPEFORM_SECRET"]
    with pytest.raises(ConfigError, match="environment variable TYPEFORM_SECRET is not set"):
        load_config(path, env)


def outcomes(config: Config, source: str, payload: str):
    body = (EXAMPLES / "payloads" / payload).read_bytes()
    request = InboundRequest(body=body, headers={}, content_type="application/json")
    result = config.sources[source].parse(request, NOW)
    assert isinstance(result, Accepted)
    return evaluate(result.event, config.rules, now=NOW, calendar=config.calendar())


@pytest.mark.parametrize(
    ("source", "payload", "rule", "task_name", "due", "owner_kind"),
    [
        (
            "website",
            "website-enquiry.json",
            "website-enquiry",
            "Call Priya about their wedding enquiry",
            "2026-03-13T09:00:00+11:00",
            "contact_email",
        ),
        (
            "typeform",
            "typeform-enquiry.json",
            "typeform-large-event",
            "Send a proposal to Tom (240 guests)",
            "2026-03-16T10:00:00+11:00",
            "new_lead",
        ),
        (
            "calendly",
            "calendly-site-visit.json",
            "calendly-site-visit",
            "Prepare the site visit with Mia Chen",
            "2026-03-19T15:00:00+11:00",
            "contact_email",
        ),
        (
            "ivvy",
            "ivvy-opportunity-won.json",
            "opportunity-won",
            "Send the contract for Acme annual conference 2026",
            "2026-03-16T10:00:00+11:00",
            "lead",
        ),
        (
            "ivvy",
            "ivvy-booking-confirmed.json",
            "booking-confirmed",
            "Confirm final numbers for Acme annual conference 2026",
            "2026-09-08T09:00:00+10:00",
            "contact",
        ),
        (
            "ivvy",
            "ivvy-invoice-added.json",
            "invoice-raised",
            "Check payment of invoice 1007458 (AUD 24125.0)",
            "2026-03-27T10:00:00+11:00",
            "contact",
        ),
    ],
)
def test_each_sample_payload_triggers_exactly_its_rule(
    source, payload, rule, task_name, due, owner_kind
) -> None:
    config = load_example("bridge.yaml")
    results = outcomes(config, source, payload)
    # Rules that act on earlier tasks are tested in tests/e2e/test_lifecycle_examples.py.
    matched = [outcome for outcome in results if outcome.matched and outcome.action is None]
    assert [outcome.rule for outcome in matched] == [rule]
    (outcome,) = matched
    assert outcome.error is None and outcome.plan is not None
    assert outcome.plan.name == task_name
    assert outcome.plan.due.isoformat() == due
    assert outcome.plan.owner.kind == owner_kind


def test_sandbox_example_creates_the_call_back_task() -> None:
    config = load_example("sandbox.yaml")
    assert config.ivvy.base_url == "http://127.0.0.1:5999"
    assert config.sources["website"].type_name == "form"
    (outcome,) = outcomes(config, "website", "website-enquiry.json")
    assert outcome.matched and outcome.plan is not None
    plan = outcome.plan
    assert plan.name == "Call Priya about their enquiry"
    assert plan.due.isoformat() == "2026-03-13T09:00:00+11:00"
    assert plan.priority == "high"
    assert plan.owner.kind == "contact_email" and plan.owner.create_contact
    assert plan.owner.email == "priya.sharma@example.com"
    assert plan.assignee is not None
    assert plan.assignee.candidates == ("olivia.nguyen@venue.example",)
