"""Config files for tests, written the way an operator would write them."""

from __future__ import annotations

from pathlib import Path

TOKEN = "test-form-token-123"

WEBSITE_RULE = """
  - name: website-enquiry
    on: {source: website}
    contact:
      email: "{{ email }}"
      create: true
    task:
      name: "Call {{ first_name }} about their {{ answers.event_type | default('enquiry') }}"
      description: "{{ message }}"
      due: "+1 business day at 09:00"
      priority: high
      assignee: events@venue.example
"""


def write_config(
    directory: Path,
    *,
    ivvy_url: str,
    rules: str = WEBSITE_RULE,
    extra_sources: str = "",
    delivery: str = "",
) -> Path:
    """A config file with a ``form`` source called ``website`` and the given rules."""
    path = directory / "bridge.yaml"
    path.write_text(
        f"""
ivvy:
  base_url: {ivvy_url}
  key: ${{IVVY_API_KEY}}
  secret: ${{IVVY_API_SECRET}}
  timezone: Australia/Sydney
  holidays: {{country: AU, subdivision: NSW}}
sources:
  website:
    type: form
    token: ${{WEBSITE_TOKEN}}
{extra_sources}
{delivery}
rules:
{rules}
"""
    )
    return path
