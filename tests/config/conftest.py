"""Shared pieces for the config tests: a valid config text and its environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ENV = {
    "IVVY_API_KEY": "key-4f9a2c7e1b",
    "IVVY_API_SECRET": "secret-d83b61a0f2c94e57",
    "WEBSITE_TOKEN": "token-7c1e9a44d0b2",
    "TYPEFORM_SECRET": "tfsecret-2b8e6d31",
}

VALID = """\
ivvy:
  region: AU
  key: ${IVVY_API_KEY}
  secret: ${IVVY_API_SECRET}
  timezone: Australia/Sydney
  holidays: {country: AU, subdivision: NSW}

sources:
  website:
    type: form
    token: ${WEBSITE_TOKEN}
  typeform:
    type: typeform
    secrets: ["${TYPEFORM_SECRET}"]
  ivvy:
    type: ivvy
    topics: ["arn:aws:sns:ap-southeast-2:123456789012:iVvy_Account_41_ab12_NotifCrm"]

rules:
  - name: website-enquiry
    on: {source: website}
    when: {field: email, matches: "@example\\\\.com$"}
    contact:
      email: "{{ email }}"
      create: true
    task:
      name: "Call {{ first_name }}"
      due: "+1 business day at 09:00"
      priority: high
  - name: opportunity-won
    on: {source: ivvy, subject: OpportunityUpdated}
    when: {field: data.stageName, changed_to: Won}
    opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}
    task:
      name: "Send the contract for {{ data.name }}"
      due: "+2 business days at 10:00"

delivery:
  lease_seconds: 60
"""


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to bridge.yaml in a fresh directory; returns its path."""

    def write(text: str, name: str = "bridge.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def env() -> dict[str, str]:
    """The environment the valid config needs (secrets with recognisable values)."""
    return dict(ENV)


@pytest.fixture
def valid_text() -> str:
    """A valid config file's text; variants edit it."""
    return VALID
