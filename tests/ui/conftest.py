"""The status pages under test: gunicorn, a worker, the sandbox iVvy, SQLite, headless Chromium.

One stack per module, seeded through ``/hooks`` with a few enquiries that end
done, no_match and failed.  Each test gets a fresh browser context.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.store import queries
from bridge.store.migrate import upgrade
from tests.support.configs import TOKEN, write_config
from tests.support.processes import BridgeProcess, start_web, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ADMIN_TOKEN = "ui-admin-token-for-tests"
PARTNER_TOKEN = "partner-form-token-456"
IVVY_WEB_URL = "https://venue.ivvy.example"
SETTLED = {"done", "no_match", "failed", "dead", "invalid"}

RULES = """
  - name: wedding-enquiry
    on: {source: website}
    when: {field: answers.event_type, in: [wedding]}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Call {{ first_name }} {{ last_name }} about their wedding"
      description: "{{ message }}"
      due: "+1 business day at 09:00"
      priority: high
      assignee: events@venue.example
  - name: conference-enquiry
    on: {source: website}
    when: {field: answers.event_type, in: [conference]}
    contact: {email: "{{ email }}", create: true}
    task:
      name: "Send the conference pack to {{ first_name }}"
      due: "+2 business days at 10:00"
      priority: medium
  - name: partner-referral
    on: {source: partner}
    contact: {email: "{{ email }}"}
    task:
      name: "Follow up the referral from {{ first_name }}"
      due: "+1 business day at 09:00"
"""
PARTNER_SOURCE = """  partner:
    type: form
    token: ${PARTNER_TOKEN}
"""


def enquiry(external_id: str, first: str, last: str, email: str, kind: str) -> dict[str, str]:
    """A website enquiry as the form tool posts it."""
    return {
        "id": external_id,
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": "+61 400 555 010",
        "message": f"{kind.title()} for 80 guests in spring",
        "event_type": kind,
    }


SEEDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "smith": (
        "website",
        TOKEN,
        enquiry("enq-smith-1", "Jo", "Smith", "jo.smith@example.org", "wedding"),
    ),
    "lee": (
        "website",
        TOKEN,
        enquiry("enq-lee-2", "Sam", "Lee", "sam.lee@example.org", "conference"),
    ),
    "party": (
        "website",
        TOKEN,
        enquiry("enq-party-3", "Ana", "Cruz", "ana.cruz@example.org", "birthday"),
    ),
    "referral": (
        "partner",
        PARTNER_TOKEN,
        enquiry("ref-77", "Kim", "Park", "kim.park@example.net", "wedding"),
    ),
    "replay": (
        "website",
        TOKEN,
        enquiry("enq-brown-5", "Lou", "Brown", "lou.brown@example.org", "wedding"),
    ),
}


@dataclass
class Stack:
    """The running bridge: its URL, the sandbox, the database, and the seeded event ids."""

    url: str
    sandbox: SandboxServer
    engine: Engine
    events: dict[str, str] = field(default_factory=dict)

    def event(self, event_id: str) -> dict[str, Any]:
        """The event as the store has it now."""
        found = queries.get_event(self.engine, event_id)
        assert found is not None
        return found

    def sandbox_tasks(self) -> list[dict[str, Any]]:
        """Every task the sandbox iVvy holds."""
        tasks: list[dict[str, Any]] = requests.get(
            f"{self.sandbox.url}/_sandbox/tasks", timeout=5
        ).json()
        return tasks


def browser_required() -> bool:
    """CI (and anyone who asks) wants browser tests to fail, not skip, without Chromium."""
    return os.environ.get("CI") == "true" or os.environ.get("BRIDGE_REQUIRE_BROWSER") == "1"


def _no_browser(reason: str) -> NoReturn:
    if browser_required():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    if not CHROMIUM.exists():
        _no_browser(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _no_browser(f"playwright is not importable: {exc}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn and a worker against the sandbox, with the seed enquiries processed."""
    tmp = tmp_path_factory.mktemp("ui")
    database_url = f"sqlite:///{tmp / 'bridge.sqlite'}"
    upgrade(database_url)
    with SandboxServer() as sandbox:
        config = write_config(tmp, ivvy_url=sandbox.url, rules=RULES, extra_sources=PARTNER_SOURCE)
        text = config.read_text().replace(
            "  timezone: Australia/Sydney",
            f"  web_url: {IVVY_WEB_URL}\n  timezone: Australia/Sydney",
        )
        config.write_text(text)
        env = {
            "DATABASE_URL": database_url,
            "BRIDGE_CONFIG": str(config),
            "IVVY_API_KEY": SANDBOX_KEY,
            "IVVY_API_SECRET": SANDBOX_SECRET,
            "WEBSITE_TOKEN": TOKEN,
            "PARTNER_TOKEN": PARTNER_TOKEN,
            "BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
            "LOG_LEVEL": "INFO",
        }
        web, url = start_web(env, tmp / "web.log")
        worker = BridgeProcess(["worker"], env, tmp / "worker.log")
        engine = create_engine(database_url)
        try:
            running = Stack(url, sandbox, engine)
            for name, (source, token, body) in SEEDS.items():
                answer = requests.post(
                    f"{url}/hooks/{source}",
                    json=body,
                    headers={"X-Bridge-Token": token},
                    timeout=10,
                )
                assert answer.status_code == 202, answer.text
                running.events[name] = answer.json()["event"]
            wait_for(
                lambda: all(running.event(i)["state"] in SETTLED for i in running.events.values()),
                timeout=60,
            )
            yield running
        finally:
            engine.dispose()
            assert worker.stop() == 0, worker.output()
            web.stop()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh desktop-sized browser page (no cookies yet) on the bridge."""
    context = browser.new_context(base_url=stack.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def log_in(page: Any, token: str = ADMIN_TOKEN) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")


@pytest.fixture
def admin_page(page: Any) -> Any:
    """A page signed in with the admin token."""
    log_in(page)
    page.wait_for_url(re.compile(r"/$"))
    return page


def screenshot(page: Any, name: str) -> None:
    """Save the page at desktop and phone widths in tests/screenshots/; neither scrolls sideways."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {label} width"
    page.set_viewport_size(DESKTOP)
