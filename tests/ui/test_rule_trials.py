"""The Backtest page, the rule editor of the Preview page and GET /api/backtest, on SQLite and
PostgreSQL: events ingested through the app and delivered to the sandbox iVvy by a worker,
then pages that run other rules on them and save nothing."""

from __future__ import annotations

import base64
import html as html_lib
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge import create_app
from bridge.config import load_config
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.tables import attempts, deliveries, events, jobs
from tests.operations.bridge_under_test import Bridge, enquiry, rule
from tests.operations.test_backtest import BROKEN, LEAD_BY_ID, WEDDING, WEDDING_OR_CONFERENCE
from tests.support.configs import TOKEN

ADMIN = "trial-admin-token"
KINDS = ["wedding", "conference", "birthday"]
# The wedding rule, as the editor would hold it after an edit: conferences too.
EDITED = textwrap.dedent(WEDDING_OR_CONFERENCE).strip() + "\n"
BAD_DUE = EDITED.replace("+1 business day at 09:00", "+1 fortnight at 09:00")


@dataclass
class Trial:
    bridge: Bridge
    client: FlaskClient
    ids: list[str]

    def rows(self) -> dict[str, int]:
        return {t.name: self.bridge.count(t) for t in (events, jobs, deliveries, attempts)}


@pytest.fixture
def trial(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Trial]:
    monkeypatch.setenv("IVVY_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("IVVY_API_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    bridge = Bridge(tmp_path, database_url, sandbox)
    path = bridge.config("v1", rule("website-enquiry") + WEDDING + BROKEN)
    in_force = bridge.runtime(path)
    ids = []
    for number, kind in enumerate(KINDS, 1):
        ids.append(bridge.receive(in_force, {**enquiry(number), "event_type": kind}))
        assert bridge.work(in_force) == 1
    settings = Settings(database_url=database_url, config_path=str(path), admin_token=ADMIN)
    pages = Runtime(settings=settings, config=load_config(path))
    client = create_app(runtime=pages).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = (
        "Basic " + base64.b64encode(f"ops:{ADMIN}".encode()).decode()
    )
    yield Trial(bridge, client, ids)
    pages.database.dispose()
    bridge.close()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def cells(html: str, table: str) -> dict[str, list[str]]:
    """A table's rows by their data-rule, each as its cells' text (tags dropped)."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows: dict[str, list[str]] = {}
    for name, row in re.findall(r'<tr data-rule="([^"]+)">(.*?)</tr>', body, re.S):
        texts = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows[name] = [re.sub(r"<[^>]+>|\s+", " ", t).strip().split(" ")[0] for t in texts]
    return rows


def test_the_backtest_page_runs_the_file_or_the_editor_and_saves_nothing(trial: Trial) -> None:
    before, tasks = trial.rows(), len(trial.bridge.bridge_tasks())
    page = trial.client.get("/backtest?source=website&last=10")
    assert page.status_code == 200
    assert "3 events of website: 7 tasks would be created, 0 errors; 3 differences" in page.text
    assert cells(page.text, "backtest-rules") == {
        "website-enquiry": ["website-enquiry", "3", "3", "0", "0"],
        "wedding": ["wedding", "1", "1", "0", "0"],
        "followup": ["followup", "3", "3", "0", "3"],
    }
    assert "priya1@example.org" not in page.text  # errors and differences are redacted

    token = csrf(page.text)
    loaded = trial.client.post(
        "/backtest",
        data={
            "csrf_token": token,
            "action": "load_rule",
            "rule_name": "wedding",
            "source": "website",
        },
    )
    editor = re.search(
        r'<textarea name="rules" id="rules"[^>]*>(.*?)</textarea>', loaded.text, re.S
    )
    assert editor is not None and editor.group(1).startswith("- name: wedding\n")
    assert "backtest-result" not in loaded.text

    edited = trial.client.post(
        "/backtest",
        data={
            "csrf_token": token,
            "action": "run",
            "source": "website",
            "last": "10",
            "rules": EDITED + textwrap.dedent(LEAD_BY_ID),
        },
    )
    assert "With the rules of the editor" in edited.text
    assert cells(edited.text, "backtest-rules") == {
        "wedding": ["wedding", "2", "2", "0", "1"],
        "lead-by-id": ["lead-by-id", "3", "0", "3", "3"],
    }
    assert f'data-event="{trial.ids[1]}" data-rule="wedding"' in edited.text
    assert "would create &#39;Wedding: call Priya&#39;; then it did not match" in edited.text
    assert edited.text.count('data-rule="website-enquiry"') == 3  # gone: made tasks then

    refused = trial.client.post(
        "/backtest",
        data={"csrf_token": token, "action": "run", "source": "website", "rules": BAD_DUE},
    )
    assert "backtest-result" not in refused.text
    assert "line 7: rules[0].task.due: unknown unit &#39;fortnight&#39;" in refused.text
    assert re.search(
        r'<li class="marked" aria-label="line 7, has a problem"><code>\s*due:', refused.text
    )

    forged = trial.client.post("/backtest", data={"action": "run", "source": "website"})
    assert forged.status_code == 403
    assert trial.rows() == before and len(trial.bridge.bridge_tasks()) == tasks


def test_the_preview_page_tries_an_edited_rule_on_a_stored_event(trial: Trial) -> None:
    before = trial.rows()
    page = trial.client.get("/preview")
    token = csrf(page.text)
    form = {"csrf_token": token, "source": "website", "content_type": "application/json"}
    loaded = trial.client.post(
        "/preview", data={**form, "action": "load_event", "event_id": trial.ids[1], "rules": EDITED}
    )
    assert "enquiry-2" in loaded.text  # the conference enquiry's payload, editor kept
    payload = re.search(
        r'<textarea name="payload" id="payload"[^>]*>(.*?)</textarea>', loaded.text, re.S
    )
    assert payload is not None
    body = html_lib.unescape(payload.group(1))
    tried = trial.client.post(
        "/preview", data={**form, "action": "preview", "payload": body, "rules": EDITED}
    )
    assert "With the rules of the editor" in tried.text
    assert "1 of 1 rules matched; 1 task would be created; 0 errors" in tried.text
    assert "Wedding: call Priya" in tried.text

    with_file = trial.client.post("/preview", data={**form, "action": "preview", "payload": body})
    assert "2 of 3 rules matched; 2 tasks would be created" in with_file.text
    assert 'data-rule="wedding" class="unmatched"' in with_file.text

    broken = trial.client.post(
        "/preview",
        data={
            **form,
            "action": "preview",
            "payload": body,
            "rules": "- name: x\n  on: {source: website\n",
        },
    )
    assert "preview-result" not in broken.text
    assert re.search(r"line \d: invalid YAML", broken.text)
    unknown = trial.client.post(
        "/preview",
        data={
            **form,
            "action": "preview",
            "payload": body,
            "rules": EDITED.replace("source: website", "source: nowhere"),
        },
    )
    assert "line 2: rules[0].on.source: no source named &#39;nowhere&#39;" in unknown.text
    environment = trial.client.post(
        "/preview",
        data={
            **form,
            "action": "preview",
            "payload": body,
            "rules": EDITED.replace("call {{ first_name }}", "${IVVY_API_SECRET}"),
        },
    )
    assert SANDBOX_SECRET not in environment.text
    assert "reads the environment in the config file only" in environment.text
    assert trial.client.post("/preview", data={**form, "payload": body}).status_code == 200
    assert trial.client.post("/preview", data={"payload": body, "rules": EDITED}).status_code == 403
    assert trial.rows() == before


def test_the_api_backtests_the_config_in_force(trial: Trial) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    answer = trial.client.get("/api/backtest?source=website&last=2", headers=headers)
    assert answer.status_code == 200
    report: dict[str, Any] = answer.get_json()
    assert report["events"] == 2 and [r["event"] for r in report["runs"]] == trial.ids[:0:-1]
    assert {r["rule"]: (r["matched"], r["tasks"], r["differences"]) for r in report["rules"]} == {
        "website-enquiry": (2, 2, 0),
        "wedding": (0, 0, 0),
        "followup": (2, 2, 2),
    }
    assert trial.client.get("/api/backtest?source=nope", headers=headers).status_code == 404
    assert (
        trial.client.get("/api/backtest?source=website&last=0", headers=headers).status_code == 400
    )
    assert trial.client.get("/api/backtest?source=website").status_code == 401
