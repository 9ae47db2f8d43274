"""Backtest and the rule editor in headless Chromium: the file's rules, then edited ones, on
the stored enquiries; problems shown by line; nothing sent to the sandbox iVvy."""

from __future__ import annotations

import re
from typing import Any

from tests.ui.conftest import Stack, screenshot


def row(page: Any, table: str, rule: str) -> list[str]:
    """A rule's row of a table: the name and the first word of each cell."""
    cells = page.locator(f"#{table} tr[data-rule='{rule}'] > *").all_inner_texts()
    return [cell.split()[0] for cell in cells]


def test_backtest_the_file_then_an_edited_rule(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    tasks = len(stack.sandbox_tasks())
    page.click("nav >> text=Backtest")
    page.select_option("#source", "website")
    page.fill("#last", "10")
    page.click("#run-backtest")
    summary = page.locator("#backtest-summary").inner_text()
    assert summary.startswith("4 events of website: 3 tasks would be created, 0 errors; 0 diff")
    assert row(page, "backtest-rules", "wedding-enquiry") == ["wedding-enquiry", "2", "2", "0", "0"]
    assert page.locator("#backtest-no-differences").is_visible()

    page.select_option("#rule-name", "conference-enquiry")
    page.click("#load-rule")
    text = page.locator("#rules").input_value()
    assert text.startswith("- name: conference-enquiry\n")
    page.fill("#rules", text.replace("in: [conference]", "in: [conference, birthday]"))
    page.click("#run-with-rules")
    assert page.locator("#backtest-rules-note").is_visible()
    assert row(page, "backtest-rules", "conference-enquiry") == [
        "conference-enquiry",
        "2",
        "2",
        "0",
        "1",
    ]  # the birthday is new
    gone = page.locator("#backtest-differences tr[data-rule='wedding-enquiry']")
    assert gone.count() == 2  # the weddings' tasks came from a rule the editor does not hold
    assert "not in this config; then task" in gone.first.inner_text()
    party = page.locator(f"#backtest-differences tr[data-event='{stack.events['party']}']")
    assert "would create 'Send the conference pack to Ana'; then it did not match" in (
        party.inner_text()
    )
    screenshot(page, "backtest")

    page.fill("#rules", text.replace("+2 business days at 10:00", "+2 fortnights"))
    page.click("#run-with-rules")
    problems = page.locator("#rules-problems").inner_text()
    assert re.search(r"line \d+: rules\[0\]\.task\.due: unknown unit 'fortnights'", problems)
    assert page.locator("#rules-listing li.marked").count() == 1
    assert "due:" in page.locator("#rules-listing li.marked").inner_text()
    assert page.locator("#backtest-result").count() == 0
    assert len(stack.sandbox_tasks()) == tasks


def test_try_an_edited_rule_on_a_stored_event_in_the_preview(admin_page: Any, stack: Stack) -> None:
    page = admin_page
    tasks = len(stack.sandbox_tasks())
    page.goto(f"/events/{stack.events['lee']}")
    page.click("#open-preview")
    payload = page.locator("#payload").input_value()
    assert "enq-lee-2" in payload
    page.select_option("#rule-name", "wedding-enquiry")
    page.click("#load-rule")
    assert page.locator("#payload").input_value() == payload  # the payload stays
    text = page.locator("#rules").input_value()
    edited = text.replace("in: [wedding]", "in: [wedding, conference]").replace(
        "about their wedding", "about their {{ answers.event_type }}"
    )
    page.fill("#rules", edited)
    page.click("#preview-with-rules")
    assert page.locator("#preview-rules-note").is_visible()
    assert page.locator("#preview-summary").inner_text().startswith("1 of 1 rules matched")
    assert "Call Sam Lee about their conference" in page.locator("#preview-rules").inner_text()
    screenshot(page, "preview-rule")

    page.fill("#rules", edited.replace("on: {source: website}", "on: {source: website"))
    page.click("#preview-with-rules")
    assert "invalid YAML" in page.locator("#rules-problems").inner_text()
    assert page.locator("#preview-result").count() == 0

    # Emptied, the editor gives the file's rules back.
    page.fill("#rules", "")
    page.click("#preview-button")
    assert page.locator("#preview-rules-note").count() == 0
    assert page.locator("#preview-rules tr.matched th").all_inner_texts() == ["conference-enquiry"]
    assert len(stack.sandbox_tasks()) == tasks
