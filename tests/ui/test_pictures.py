"""The pictures in headless Chromium: the overview's hourly history per source and of the queue,
with the iVvy circuit's open period marked, and an event's timeline.

The history is real: a worker (in this process, with a clock the test moves) delivered
enquiries over the last 26 hours to the sandbox iVvy, through an outage that opened its
circuit.  Then gunicorn serves the pages on that database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.ivvy.sandbox import SandboxServer
from bridge.store.migrate import upgrade
from tests.delivery.harness import CONFIG_ENV, ManualClock, make_bench
from tests.support.processes import start_web
from tests.ui.conftest import ADMIN_TOKEN, DESKTOP, SCREENSHOTS, log_in, screenshot

HOUR = timedelta(hours=1)
CIRCUIT = "delivery:\n  circuit: {failures: 1, cooldown_seconds: 30}\n"
PARTNER = "  partner:\n    type: form\n    token: partner-token\n"


@dataclass
class History:
    url: str
    quiet_event: str  # delivered at once
    outage_event: str  # waited through the outage
    tasks: int


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    tmp = tmp_path_factory.mktemp("pictures")
    database_url = f"sqlite:///{tmp / 'bridge.sqlite'}"
    upgrade(database_url)
    now = datetime.now(UTC)
    clock = ManualClock(now - 26 * HOUR)
    with SandboxServer() as sandbox:
        bench = make_bench(tmp, sandbox, database_url, delivery=CIRCUIT, clock=clock)
        config = tmp / "bridge.yaml"
        config.write_text(config.read_text().replace("sources:\n", f"sources:\n{PARTNER}", 1))
        worker = bench.worker()
        number, tasks = 0, 0
        quiet = ""
        # A quiet day: a few enquiries every other hour, each delivered at once.
        while clock.now < now - 7 * HOUR:
            for _ in range(1 + number % 3):
                number += 1
                event_id = bench.submit(number)
                quiet = quiet or event_id
            tasks += worker.run_pending()
            clock.advance(2 * 3600 + 60 * (number % 5))
        # The outage, six hours ago: iVvy answers 503, the circuit opens, enquiries wait.
        clock.set(now - 6 * HOUR)
        bench.faults(fail_next=1000)
        outage = bench.submit(1000)
        for n in range(1001, 1005):
            bench.submit(n)
        worker.run_pending()
        clock.advance(40 * 60)
        worker.run_pending()  # the probe fails: still open
        clock.set(now - 4 * HOUR)
        bench.clear_faults()
        tasks += worker.run_pending()
        assert not worker.breaker.is_open
        env = {
            **CONFIG_ENV,
            "DATABASE_URL": database_url,
            "BRIDGE_CONFIG": str(config),
            "BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        web, url = start_web(env, tmp / "web.log")
        try:
            yield History(url, quiet, outage, tasks)
        finally:
            web.stop()
            bench.runtime.database.dispose()


@pytest.fixture
def signed_in(browser: Any, history: History) -> Iterator[Any]:
    context = browser.new_context(base_url=history.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page)
    page.wait_for_url(re.compile(r"/$"))
    yield page
    context.close()


def bar_titles(chart: Any, row: str) -> list[str]:
    """The tooltips of one row's bars, e.g. 'Sat 05 Dec 14:00-15:00: 3 received'."""
    titles = chart.locator("rect.bar title").all_text_contents()
    return [t for t in titles if t.endswith(f" {row}")]


def total(titles: list[str]) -> int:
    return sum(int(t.rsplit(": ", 1)[1].split()[0]) for t in titles)


def test_the_overview_draws_a_day_per_source_and_the_queue(
    signed_in: Any, history: History
) -> None:
    page = signed_in
    website = page.locator("#history-website svg")
    assert website.get_attribute("role") == "img"
    title = website.locator("title").first.text_content() or ""
    assert "website: per hour over the last 24 hours" in title
    received = bar_titles(website, "received")
    created = bar_titles(website, "tasks created")
    # 24 h of the 26 h: the enquiries of the first two hours are outside the picture.
    assert 8 <= len(received) <= 12
    assert total(created) >= 5  # at least the five from the outage
    assert total(bar_titles(website, "failures")) == 2  # the 503 and the failed probe
    # Told apart without colour: each row has its name and its own fill pattern.
    names = website.locator("text.row-name").all_text_contents()
    assert names == ["received", "tasks created", "failures"]
    fills = {
        row: website.locator("rect.bar").filter(has_text=row).first.get_attribute("fill")
        for row in ("received", "tasks created", "failures")
    }
    assert fills == {"received": None, "tasks created": "url(#p-hatch)", "failures": "url(#p-dots)"}
    # A configured source with no traffic still gets its (empty) picture.
    partner = page.locator("#history-partner svg")
    assert partner.locator("rect.bar").count() == 0
    assert "0 in all" in (partner.text_content() or "")

    queue = page.locator("#queue-history svg")
    waiting = bar_titles(queue, "jobs waiting")
    assert any(t.endswith(": 5 jobs waiting") for t in waiting), waiting
    oldest = bar_titles(queue, "oldest waiting")
    assert any(t.endswith(": 2.0 h oldest waiting") for t in oldest), oldest
    band = queue.locator("rect.band")
    assert band.count() == 1
    assert "most at once 5" in (queue.text_content() or "")
    assert queue.locator("text.band-label").all_text_contents() == ["circuit open"]
    periods = page.locator(".circuit-periods li").all_text_contents()
    assert len(periods) == 1 and "(2.0 h)" in periods[0], periods
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#history").screenshot(path=str(SCREENSHOTS / "overview-history.png"))
    screenshot(page, "overview-pictures")


def test_the_pictures_read_in_grey(browser: Any, history: History) -> None:
    """Without colour the rows keep their names and patterns: a grey screenshot to look at."""
    context = browser.new_context(base_url=history.url, viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    try:
        log_in(page)
        page.wait_for_url(re.compile(r"/$"))
        page.add_style_tag(content="html { filter: grayscale(1); }")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.locator("#history").screenshot(path=str(SCREENSHOTS / "overview-history-grey.png"))
        patterns = page.locator("#history-website rect.bar").evaluate_all(
            "bars => [...new Set(bars.map(b => b.getAttribute('fill') || 'solid'))].sort()"
        )
        assert patterns == ["solid", "url(#p-dots)", "url(#p-hatch)"]
        assert page.locator("#queue-history rect.band").get_attribute("fill") == "url(#p-band)"
    finally:
        context.close()


def test_the_week_view_has_the_same_history(signed_in: Any, history: History) -> None:
    page = signed_in
    page.click("text=7 days")
    page.wait_for_url(re.compile(r"span=7d"))
    assert page.locator(".span-choice strong").inner_text() == "7 days"
    website = page.locator("#history-website svg")
    assert "over the last 7 days" in (website.locator("title").first.text_content() or "")
    assert total(bar_titles(website, "tasks created")) == history.tasks
    assert page.locator("#queue-history rect.band").count() == 1
    screenshot(page, "overview-pictures-week")


def test_an_event_page_draws_its_timeline(signed_in: Any, history: History) -> None:
    page = signed_in
    page.goto(f"/events/{history.outage_event}")
    timeline = page.locator("#timeline svg")
    steps = timeline.locator("text.step").all_text_contents()
    assert steps[0].startswith("received from website")
    calls = [s for s in steps if s.startswith("crm.")]
    assert any(
        re.fullmatch(r"crm\.addOrUpdateTask: HTTP 503 in \d+ ms \(failed\)", s) for s in calls
    ), calls
    assert any(re.fullmatch(r"crm\.addOrUpdateTask: HTTP 200 in \d+ ms", s) for s in calls), calls
    assert any(re.fullmatch(r"task \d+ created by rule company-task", s) for s in steps), steps
    offsets = timeline.locator("text.offset").all_text_contents()
    assert offsets[0] == "+0 ms" and offsets[-1] == "+2.0 h", offsets
    assert timeline.locator("g.failed").count() >= 1  # the failed call, in words and weight
    screenshot(page, "event-timeline")

    page.goto(f"/events/{history.quiet_event}")
    steps = page.locator("#timeline text.step").all_text_contents()
    # Received, then the call, its task and the job done (the test's clock stood still meanwhile,
    # while the calls are timed by the real one, so their order here is not the real order).
    assert steps[0].startswith("received")
    assert sorted(s.split()[0] for s in steps[1:]) == ["crm.addOrUpdateTask:", "job", "task"]
