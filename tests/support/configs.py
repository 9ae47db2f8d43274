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


# The business calendar most tests count due dates in.
SYDNEY_HOLIDAYS = "  holidays: {country: AU, subdivision: NSW}\n"

WEBSITE_SOURCE = """
  website:
    type: form
    token: ${WEBSITE_TOKEN}
"""


def write_config(
    directory: Path,
    *,
    ivvy_url: str,
    rules: str = WEBSITE_RULE,
    sources: str = WEBSITE_SOURCE,
    extra_sources: str = "",
    delivery: str = "",
    ivvy_options: str = SYDNEY_HOLIDAYS,
) -> Path:
    """``bridge.yaml`` in ``directory``: iVvy at ``ivvy_url`` in Sydney, the sources and rules.

    The one template every test and benchmark writes its config from; each part is YAML text
    indented as it sits in the file (``ivvy_options`` under ``ivvy:``, sources under
    ``sources:``, ``delivery`` a whole section).
    """
    path = directory / "bridge.yaml"
    path.write_text(
        f"""
ivvy:
  base_url: {ivvy_url}
  key: ${{IVVY_API_KEY}}
  secret: ${{IVVY_API_SECRET}}
  timezone: Australia/Sydney
{ivvy_options}
sources:
{sources}
{extra_sources}
{delivery}
rules:
{rules}
"""
    )
    return path
