"""Preview shows complete, cancel and update like creations: the verdict, what would be set,
and the iVvy calls, for the shipped examples (nothing sent, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bridge.config import load_config
from bridge.evaluation import content_type_for, preview

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)
ENV = {
    "IVVY_API_KEY": "k",
    "IVVY_API_SECRET": "s",
    "WEBSITE_FORM_TOKEN": "t",
    "TYPEFORM_SECRET": "x",
    "CALENDLY_SIGNING_KEY": "c",
}


def previewed(source: str, payload: str) -> dict:
    config = load_config(EXAMPLES / "bridge.yaml", ENV)
    path = EXAMPLES / "payloads" / payload
    content_type, body = content_type_for(path, path.read_bytes())
    return preview(config, source, body, content_type, NOW)


def test_a_cancel_is_previewed_with_its_key_and_its_calls() -> None:
    result = previewed("ivvy", "ivvy-booking-deleted.json")
    (rule,) = [r for r in result["rules"] if r["matched"]]
    assert (rule["rule"], rule["verdict"]) == ("booking-cancelled", "action")
    assert rule["action"]["action"] == "cancel"
    assert rule["action"]["by"] == {"key": "booking-9021"}
    assert rule["action"]["sets"]["status"] == "Cancelled"
    assert [c["call"] for c in rule["calls"]] == [
        "crm?action=getTaskList",
        "crm?action=addOrUpdateTask",
    ]
    update = rule["calls"][-1]["body"]
    assert update["status"] == 3 and update["id"].startswith("<id of each of the open tasks")
    assert "would act on earlier tasks" in result["summary"]


def test_won_previews_the_completion_and_the_new_task() -> None:
    result = previewed("ivvy", "ivvy-opportunity-won.json")
    verdicts = {r["rule"]: r["verdict"] for r in result["rules"] if r["matched"]}
    assert verdicts == {"proposal-done-when-won": "action", "opportunity-won": "task"}
    (done,) = [r for r in result["rules"] if r["rule"] == "proposal-done-when-won"]
    assert done["action"]["by"]["owner"]["id"] == 763
    assert done["calls"][-1]["body"] == {"id": done["calls"][-1]["body"]["id"], "status": 4}


def test_update_open_is_previewed_before_the_creation_it_may_replace() -> None:
    result = previewed("website", "website-enquiry-again.json")
    (rule,) = [r for r in result["rules"] if r["matched"]]
    assert rule["task"]["key"] == "priya.sharma@example.com"
    assert rule["task"]["update_open"]["within_days"] == 7
    calls = [(c["call"], "id" in c["body"]) for c in rule["calls"]]
    assert calls[-3:] == [
        ("crm?action=getTaskList", False),  # read it (filtered on its id)
        ("crm?action=addOrUpdateTask", True),  # the key's open task, when there is one
        ("crm?action=addOrUpdateTask", False),  # else the creation
    ]
