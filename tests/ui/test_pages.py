"""The status pages in headless Chromium on a real bridge: find an enquiry, see why, replay."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.ui.conftest import ADMIN_TOKEN, IVVY_WEB_URL, PHONE, SEEDS, Stack, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def rows(page: Any) -> list[str]:
    """The event ids listed on the events page, top to bottom."""
    ids: list[str] = page.locator("#event-list tbody tr[data-event]").evaluate_all(
        "rows => rows.map(r => r.dataset.event)"
    )
    return ids


def test_login_refuses_a_wrong_token_and_lets_the_right_one_in(page: Any, stack: Stack) -> None:
    page.goto("/events")
    assert page.url.endswith("/login?next=/events")
    screenshot(page, "login")

    answer = page.request.get(f"{stack.url}/events", max_redirects=0)
    assert answer.status == 302  # nothing shown before signing in

    page.fill("#token", "not-the-admin-token")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "That token is not the admin token."
    assert page.locator("#event-list").count() == 0

    page.fill("#token", ADMIN_TOKEN)  # the form kept where the visit was going
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/events$"))  # back where the visit started
    assert len(rows(page)) == len(SEEDS)
    cookie = next(c for c in page.context.cookies() if c["name"] == "bridge_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/events")
    assert "/login" in page.url


def test_overview_counts_per_source_and_the_queue(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    website = page.locator('#per-source tr[data-source="website"] td')
    assert website.nth(0).inner_text() == "4 / 4"  # events received, last hour / day
    assert website.nth(1).inner_text() == "3 / 3"  # tasks created: two weddings and a conference
    partner = page.locator('#per-source tr[data-source="partner"] td')
    assert partner.nth(0).inner_text() == "1 / 1"
    assert partner.nth(2).inner_text() == "1 / 1"  # the referral failed: no contact to own it
    assert page.locator("#ivvy-status").inner_text() in ("reachable", "unreachable", "unknown")
    assert page.locator("#queue-waiting").inner_text() == "0"
    screenshot(page, "overview")

    page.set_viewport_size(PHONE)  # the table collapses into cards: no header row shown
    header = page.locator("#per-source thead").bounding_box()
    assert header is not None and header["width"] <= 1


def test_the_event_list_filters_and_searches(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    page.goto("/events")
    assert set(rows(page)) == set(stack.events.values())
    screenshot(page, "events")

    page.fill("input[name=q]", "JO.SMITH@example.org")
    page.click("#filters button[type=submit]")
    assert rows(page) == [stack.events["smith"]]
    smith = page.locator(f'tr[data-event="{stack.events["smith"]}"]')
    assert "wedding-enquiry" in smith.locator('td[data-label="Matched rules"]').inner_text()
    task_id = stack.event(stack.events["smith"])["deliveries"][0]["task_id"]
    link = smith.locator('td[data-label="iVvy task"] a')
    assert link.inner_text() == f"#{task_id}"
    assert link.get_attribute("href", timeout=1000).startswith(IVVY_WEB_URL)

    page.goto("/events")
    page.fill("input[name=q]", "enq-lee-2")
    page.click("#filters button[type=submit]")
    assert rows(page) == [stack.events["lee"]]

    page.goto("/events")
    page.select_option("select[name=source]", "partner")
    page.click("#filters button[type=submit]")
    assert rows(page) == [stack.events["referral"]]
    error = page.locator('td[data-label="Last error"]').inner_text()
    assert "no iVvy contact has the event's email address" in error

    page.goto("/events?state=no_match")
    assert rows(page) == [stack.events["party"]]

    today = datetime.now(UTC).astimezone(ZoneInfo("Australia/Sydney")).date()
    page.goto(f"/events?since={today + timedelta(days=1)}")
    assert rows(page) == []
    assert "No events match these filters" in page.locator("#event-list").inner_text()
    page.goto(f"/events?since={today - timedelta(days=1)}&until={today}")
    assert len(rows(page)) == len(SEEDS)


def test_the_event_page_explains_what_happened(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    event_id = stack.events["smith"]
    page.goto(f"/events/{event_id}")
    assert page.locator("#event-state").inner_text() == "done"
    fields = page.locator("#fields").inner_text()
    assert "Smith" in fields and "jo.smith@example.org" in fields
    assert "wedding" in page.locator("#answers").inner_text()

    matched = page.locator('#rules tr[data-rule="wedding-enquiry"]')
    assert "matched" in matched.get_attribute("class", timeout=1000).split()
    assert "Call Jo Smith about their wedding" in matched.inner_text()
    conference = page.locator('#rules tr[data-rule="conference-enquiry"]')
    assert "unmatched" in conference.get_attribute("class", timeout=1000).split()
    assert "wedding" in conference.locator('td[data-label="Why"]').inner_text()
    partner = page.locator('#rules tr[data-rule="partner-referral"] td[data-label="Why"]')
    assert "partner" in partner.inner_text()

    task = json.loads(page.locator(".delivery .task-body").inner_text())
    assert task["name"] == "Call Jo Smith about their wedding"
    sandbox_task = next(t for t in stack.sandbox_tasks() if event_id in t["description"])
    assert page.locator(".delivery .task-id").inner_text() == f"#{sandbox_task['id']}"

    calls = page.locator('#attempts td[data-label="Call"]').all_inner_texts()
    assert "crm.addOrUpdateTask" in calls
    statuses = page.locator('#attempts td[data-label="Status"]').all_inner_texts()
    assert set(statuses) == {"200"}
    screenshot(page, "event")


def test_replay_queues_a_job_that_runs_and_creates_no_second_task(
    admin_page: Any, stack: Stack
) -> None:
    page = admin_page
    event_id = stack.events["replay"]
    before = [t for t in stack.sandbox_tasks() if event_id in t["description"]]
    assert len(before) == 1
    page.goto(f"/events/{event_id}")
    assert page.locator("#jobs tbody tr").count() == 1

    page.click("#replay-current")
    flash = page.locator(".flash-ok").inner_text()
    assert re.search(r"Replay queued as job \d+ with the current rules", flash)

    def replay_done() -> bool:
        jobs = stack.event(event_id)["jobs"]
        return len(jobs) == 2 and all(job["state"] == "done" for job in jobs)

    from tests.support.processes import wait_for

    wait_for(replay_done, timeout=30)
    page.reload()
    assert page.locator("#jobs tbody tr").count() == 2
    assert page.locator("#event-state").inner_text() == "done"
    after = [t for t in stack.sandbox_tasks() if event_id in t["description"]]
    assert after == before  # the task exists once, untouched


def test_preview_from_an_event_and_from_a_pasted_payload(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    page.goto(f"/events/{stack.events['lee']}")
    page.click("#open-preview")
    assert json.loads(page.locator("#payload").input_value())["id"] == "enq-lee-2"
    page.click("#preview-button")
    summary = page.locator("#preview-summary").inner_text()
    assert summary.startswith("1 of 3 rules matched; 1 task would be created")
    matched = page.locator("#preview-rules tr.matched th").all_inner_texts()
    assert matched == ["conference-enquiry"]

    page.goto("/preview")
    payload = SEEDS["smith"][2] | {"id": "enq-new-9", "first_name": "Rae", "last_name": "Ito"}
    page.select_option("#source", "website")
    page.fill("#payload", json.dumps(payload))
    page.click("[data-format-json]")
    assert page.locator("#payload").input_value().startswith("{\n")
    page.click("#preview-button")
    assert "Call Rae Ito about their wedding" in page.locator("#preview-rules").inner_text()
    calls = page.locator("#preview-calls li code").all_inner_texts()
    assert "contact?action=getContactList" in calls
    assert calls[-1] == "crm?action=addOrUpdateTask"
    screenshot(page, "preview")

    page.fill("#payload", "{not json")
    page.click("#preview-button")
    assert page.locator("#preview-problem").is_visible()
    assert len(stack.sandbox_tasks()) == 3  # previews send nothing


def test_a_post_without_the_csrf_token_is_refused(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    event_id = stack.events["party"]
    page.goto(f"/events/{event_id}")
    page.evaluate(
        "document.querySelector('#replay-current').form"
        ".querySelector('input[name=csrf_token]').remove()"
    )
    page.click("#replay-current")
    assert "CSRF check failed" in page.locator("main").inner_text()

    forged = page.request.post(
        f"{stack.url}/events/{event_id}/replay",
        form={"rules": "current", "csrf_token": "guessed"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert len(stack.event(event_id)["jobs"]) == 1  # nothing was queued
