"""Preview: the JSON shape, the planned calls, and the CLI over real payload files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.cli import main
from bridge.config import Config, load_config
from bridge.evaluation import PreviewError, content_type_for, preview
from bridge.sources.base import PayloadInvalid

SAMPLES = Path(__file__).parents[1] / "fixtures" / "samples"
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=ZoneInfo("Australia/Sydney"))
ENV = {"IVVY_API_KEY": "key-1234", "IVVY_API_SECRET": "secret-5678", "FORM_TOKEN": "tok-9"}
CONFIG = """\
ivvy:
  region: AU
  key: ${IVVY_API_KEY}
  secret: ${IVVY_API_SECRET}
  timezone: Australia/Sydney
  holidays: {country: AU, subdivision: NSW}
sources:
  website: {type: form, token: "${FORM_TOKEN}"}
  forms: {type: jotform, token: "${FORM_TOKEN}"}
  ivvy:
    type: ivvy
    topics: ["TOPIC"]
rules:
  - name: website-enquiry
    on: {source: website}
    when: {field: answers.event_type, in: [Wedding, Conference]}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Call {{ first_name }} about their {{ answers.event_type | lower }}"
      description: "{{ message }}"
      due: "+1 business day at 09:00"
      priority: high
      status: Not Started
      assignee: [events@venue.example, Jo Smith]
  - name: birthday
    on: {source: website}
    when: {field: answers.event_type, equals: Birthday}
    company: {name: "{{ answers.company }}"}
    task: {name: "Birthday for {{ first_name }}", due: "+1 day"}
  - name: needs-phone
    on: {source: website}
    when: {field: phone, exists: true}
    new_lead: {name: "{{ name }}", source_id: 3, type_id: 2, stage_id: 1, industry_id: 4}
    task: {name: "Ring {{ first_name }}", due: "+30 minutes", assignee: 12}
  - name: opportunity-updated
    on: {source: ivvy, subject: OpportunityUpdated}
    opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}
    task: {name: "Review {{ data.name }}", due: "+2 business days at 10:00"}
  - name: any-jotform
    on: {source: forms}
    contact: {email: "{{ email }}"}
    task: {name: "Jotform {{ kind }}", due: "now"}
"""
CONFIG = CONFIG.replace(
    "TOPIC",
    "arn:aws:sns:ap-southeast-2:232528047142:"
    "iVvy_Account_14_d4959ffe27f4a760733babdf1fa7fbbd354d4f62_NotifCompanies",
)
WEBSITE_PAYLOAD = {
    "first_name": "Jo",
    "last_name": "Citizen",
    "name": "Jo Citizen",
    "email": "jo@example.com",
    "message": "50 guests in June",
    "event_type": "Wedding",
}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path, env=ENV)


def website(config: Config, **changes: Any) -> dict[str, Any]:
    body = json.dumps({**WEBSITE_PAYLOAD, **changes}).encode()
    return preview(config, "website", body, "application/json", NOW)


def test_preview_shape_for_a_website_enquiry(config: Config) -> None:
    result = website(config)
    json.dumps(result)  # JSON-able as it is
    assert result["source"] == "website" and result["source_type"] == "form"
    assert result["event"]["answers"]["event_type"] == "Wedding"
    assert result["timezone"] == "Australia/Sydney"
    assert [(r["rule"], r["matched"], r["error"]) for r in result["rules"]] == [
        ("website-enquiry", True, None),
        ("birthday", False, None),
        ("needs-phone", False, None),
        ("opportunity-updated", False, None),
        ("any-jotform", False, None),
    ]
    first, birthday, phone, opportunity, _ = result["rules"]
    assert first["reasons"] == [
        "source is 'website'",
        "answers.event_type is 'Wedding', in [Wedding, Conference]",
    ]
    assert birthday["reasons"] == [
        "source is 'website'",
        "answers.event_type is 'Wedding', not 'Birthday'",
    ]
    assert phone["reasons"] == ["source is 'website'", "phone is not set"]
    assert opportunity["reasons"] == ["source is 'website', not 'ivvy'"]
    assert "calls" not in birthday
    assert first["task"] == {
        "name": "Call Jo about their wedding",
        "description": "50 guests in June",
        "due": "2025-03-04T09:00:00+11:00",
        "due_utc": "2025-03-03 22:00:00",
        "priority": "high",
        "status": "Not Started",
        "assignee": ["events@venue.example", "Jo Smith"],
        "owner": {
            "kind": "contact_email",
            "email": "jo@example.com",
            "create_contact": True,
            "contact_fields": {
                "firstName": "Jo",
                "lastName": "Citizen",
                "email": "jo@example.com",
            },
        },
        "key": None,
        "update_open": None,
    }
    assert result["calls"] == [
        {
            "rule": "website-enquiry",
            "call": "contact?action=getContactList",
            "body": {"filter": {"email": "jo@example.com"}},
            "lookup": True,
            "purpose": "find the contact by email",
        },
        {
            "rule": "website-enquiry",
            "call": "contact?action=addOrUpdateContact",
            "body": {"firstName": "Jo", "lastName": "Citizen", "email": "jo@example.com"},
            "lookup": False,
            "when": "only when no contact has this email",
            "purpose": "create the contact",
        },
        {
            "rule": "website-enquiry",
            "call": "account?action=getUserList",
            "body": {},
            "lookup": True,
            "purpose": "resolve the assignee by email or full name (cached)",
        },
        {
            "rule": "website-enquiry",
            "call": "crm?action=addOrUpdateTask",
            "body": {
                "name": "Call Jo about their wedding",
                "endDatetime": "2025-03-03 22:00:00",
                "description": "50 guests in June",
                "priority": "high",
                "status": 0,
                "assignedUserId": "<user id of the next in turn of events@venue.example, Jo Smith>",
                "contactId": "<id of the contact found by email or created>",
            },
            "lookup": False,
            "purpose": "create the task (delivery adds a marker line to the description)",
        },
    ]
    assert result["summary"] == "1 of 5 rules matched; 1 task would be created; 0 errors"


def test_company_by_name_new_lead_and_errors(config: Config) -> None:
    result = website(config, event_type="Birthday", phone="0400 000 000")
    rules = {r["rule"]: r for r in result["rules"]}
    assert (
        rules["birthday"]["error"] == "the company name rendered empty, so no company can be found"
        " (answers.company: not in this event)"
    )
    assert "calls" not in rules["birthday"]
    calls = [(c["call"], c["body"]) for c in rules["needs-phone"]["calls"]]
    assert calls[0] == ("contact?action=getContactList", {"filter": {"email": "jo@example.com"}})
    assert calls[1][0] == "contact?action=addOrUpdateContact"
    assert calls[2] == (
        "contact?action=addOrUpdateLead",
        {
            "name": "Jo Citizen",
            "sourceId": 3,
            "typeId": 2,
            "stageId": 1,
            "industryId": 4,
            "contactId": "<id of the contact found or created>",
        },
    )
    assert calls[3][0] == "crm?action=addOrUpdateTask"
    assert calls[3][1]["leadId"] == "<id of the new lead>"
    assert calls[3][1]["assignedUserId"] == 12  # a user id needs no look-up
    assert result["summary"] == "2 of 5 rules matched; 1 task would be created; 1 error"

    with_company = website(config, event_type="Birthday", company="Acme")
    [birthday] = [r for r in with_company["rules"] if r["rule"] == "birthday"]
    assert birthday["calls"][0]["body"] == {"filter": {"businessName": "Acme"}}
    assert birthday["calls"][1]["body"]["companyId"] == "<id of the company found by name>"


def test_an_ivvy_notification_shows_the_venue_lookup(config: Config) -> None:
    body = (SAMPLES / "ivvy-OpportunityUpdated.constructed.json").read_bytes()
    result = preview(config, "ivvy", body, "text/plain; charset=UTF-8", NOW)
    [rule] = [r for r in result["rules"] if r["matched"]]
    assert rule["rule"] == "opportunity-updated"
    assert [c["call"] for c in rule["calls"]] == [
        "venue?action=getVenueList",
        "crm?action=addOrUpdateTask",
    ]
    assert (
        rule["calls"][0]["purpose"]
        == "the timezone of venue 1 (this preview used Australia/Sydney)"
    )
    assert rule["calls"][1]["body"] == {
        "name": "Review Opprotunity Name",
        "endDatetime": "2025-03-04 23:00:00",
        "leadId": 763,
        "venueId": 1,
    }


def test_a_subscription_handshake_is_never_confirmed_from_a_preview(config: Config) -> None:
    body = (SAMPLES / "ivvy-SubscriptionConfirmation.json").read_bytes()
    result = preview(config, "ivvy", body, "text/plain", NOW)
    assert result["rules"] == [] and result["calls"] == []
    assert "preview does not" in result["acknowledged"]


def test_unknown_source_and_bad_payloads(config: Config) -> None:
    with pytest.raises(
        PreviewError, match="no source named 'nope' \\(configured: forms, ivvy, website\\)"
    ):
        preview(config, "nope", b"{}", "application/json", NOW)
    with pytest.raises(PayloadInvalid):
        preview(config, "website", b"not json", "application/json", NOW)


def test_content_type_from_the_file() -> None:
    assert content_type_for("a.json", b"{}") == ("application/json", b"{}")
    assert content_type_for("a.txt", b"a=1&b=2\n") == (
        "application/x-www-form-urlencoded",
        b"a=1&b=2",
    )
    kind, body = content_type_for("a.txt", b"--XyZ\ncontent-disposition: form-data\n\nv\n--XyZ--\n")
    assert kind == "multipart/form-data; boundary=XyZ"
    assert body == b"--XyZ\r\ncontent-disposition: form-data\r\n\r\nv\r\n--XyZ--\r\n"


def test_cli_text_and_json(
    config_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    payload = tmp_path / "enquiry.json"
    payload.write_text(json.dumps(WEBSITE_PAYLOAD))
    now = "2025-03-03T10:00:00+11:00"
    argv = ["preview", "--config", str(config_path), "--source", "website", "--now", now]
    assert main([*argv, str(payload)]) == 0
    text = capsys.readouterr().out
    assert "[MATCH] website-enquiry" in text
    assert "    - answers.event_type is 'Wedding', not 'Birthday'" in text
    assert "4. crm?action=addOrUpdateTask (write, rule website-enquiry)" in text
    assert text.rstrip().endswith("1 of 5 rules matched; 1 task would be created; 0 errors")

    monkeypatch.setenv("BRIDGE_CONFIG", str(config_path))
    assert main(["preview", "--source", "website", "--now", now, "--json", str(payload)]) == 0
    assert (
        json.loads(capsys.readouterr().out)["rules"][0]["task"]["due_utc"] == "2025-03-03 22:00:00"
    )

    payload.write_text(json.dumps({**WEBSITE_PAYLOAD, "event_type": "Birthday"}))
    assert main(["preview", "--source", "website", "--now", now, str(payload)]) == 1  # a rule errs
    assert "[ERROR] birthday" in capsys.readouterr().out

    assert main(["preview", "--source", "nope", str(payload)]) == 1
    assert "no source named 'nope'" in capsys.readouterr().err


def test_cli_multipart_jotform_sample(
    config_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    argv = ["preview", "--config", str(config_path), "--source", "forms", "--json"]
    status = main([*argv, "--now", "2025-03-03T10:00:00+11:00", str(SAMPLES / "jotform.txt")])
    result = json.loads(capsys.readouterr().out)
    assert result["source_type"] == "jotform"
    [rule] = [r for r in result["rules"] if r["rule"] == "any-jotform"]
    assert rule["matched"] is True
    assert status == (1 if rule["error"] else 0)
