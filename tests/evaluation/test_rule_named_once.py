"""A failed rule's reason names the rule once, and the event page tells an error from a match."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

from bridge import create_app
from bridge.ivvy.sandbox import SandboxServer
from tests.delivery.harness import make_bench

ADMIN = "admin-token-for-tests"
RULES = """
  - name: no-company
    on: {source: website}
    company: {name: "{{ company_name | default('') }}"}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
  - name: fine
    on: {source: website}
    company: {id: 1}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
"""
REASON = "the company name rendered empty, so no company can be found"


def test_the_reason_names_its_rule_once_and_the_page_shows_the_error(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    bench = make_bench(tmp_path, sandbox, database_url, rules=RULES)
    event_id = bench.submit()
    assert bench.worker().run_pending() == 1
    job = bench.job(event_id)
    assert job["last_error"] == f"rule no-company: {REASON}"
    rows = bench.rows("SELECT rule, state, error FROM deliveries WHERE event_id = :e", e=event_id)
    by_rule = {row["rule"]: row for row in rows}
    assert by_rule["no-company"]["error"] == REASON
    assert by_rule["fine"]["state"] == "done"

    settings = replace(bench.runtime.settings, admin_token=ADMIN)
    app = create_app(runtime=replace(bench.runtime, settings=settings))
    client = app.test_client()
    basic = base64.b64encode(f"admin:{ADMIN}".encode()).decode()
    page = client.get(f"/events/{event_id}", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    errored = html.split('data-rule="no-company"', 1)[1].split("</tr>", 1)[0]
    assert "matched, but could not make its task" in errored
    assert "state-done" not in errored
    assert errored.count("no-company") == 1  # the row's heading; the reason does not repeat it
    matched = html.split('data-rule="fine"', 1)[1].split("</tr>", 1)[0]
    assert 'class="state state-done">matched<' in matched

    # The Preview page tells them apart too.
    auth = {"Authorization": f"Basic {basic}"}
    form = client.get("/preview", headers=auth).get_data(as_text=True)
    field, token = re.search(r'type="hidden" name="([^"]+)" value="([^"]+)"', form).groups()
    answer = client.post(
        "/preview",
        headers=auth,
        data={
            field: token,
            "source": "website",
            "content_type": "application/json",
            "payload": '{"first_name": "Tom"}',
        },
    )
    assert answer.status_code == 200
    shown = answer.get_data(as_text=True).split('id="preview-rules"', 1)[1]
    errored = shown.split('data-rule="no-company"', 1)[1].split("</tr>", 1)[0]
    assert "matched, but could not make its task" in errored
    assert "company_name" not in errored  # guarded by default(''): no warning either
    assert 'class="state state-done">matched<' in shown.split('data-rule="fine"', 1)[1]
    app.extensions["bridge"].database.dispose()
    bench.engine.dispose()
