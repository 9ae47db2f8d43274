"""The Backtest page: the file's rules, or the editor's, on a source's last stored events.

Read only: nothing is sent to iVvy and nothing is stored.  A GET with ``source`` runs the
file's rules (a link to bookmark); a POST runs the rule editor's.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from bridge.backtest import backtest
from bridge.config import Config
from bridge.logs import Redactor
from bridge.store.backtest_reads import MAX_LAST, recent_runs
from bridge.web.runtime_access import runtime
from bridge.web.ui.explain import redactor_for
from bridge.web.ui.rule_editor import ALL_RULES, RuleEditor, rule_names

DEFAULT_LAST = 50


def _last(raw: str) -> tuple[int, str | None]:
    try:
        last = int(raw)
    except ValueError:
        return DEFAULT_LAST, f"'{raw[:20]}' is not a number of events; {DEFAULT_LAST} used"
    if not 1 <= last <= MAX_LAST:
        clamped = max(1, min(last, MAX_LAST))
        return clamped, f"the number of events is between 1 and {MAX_LAST}; {clamped} used"
    return last, None


def _redacted(report: dict[str, Any], redact: Redactor) -> dict[str, Any]:
    """Error texts and difference sentences with secrets, emails and phones hidden."""
    for tally in report["rules"]:
        for entry in tally["error_counts"]:
            entry["error"] = redact(entry["error"])
        for entry in tally["warning_counts"]:
            entry["warning"] = redact(entry["warning"])
    for found in report["differences"]:
        found["summary"] = redact(found["summary"])
    for run in report["runs"]:
        for verdict in run["rules"]:
            if verdict.get("error"):
                verdict["error"] = redact(verdict["error"])
    return report


def _run(config: Config, source: str, last: int) -> dict[str, Any]:
    rt = runtime()
    report = backtest(config, source, recent_runs(rt.engine, source, last), last).to_json()
    return _redacted(report, redactor_for([*rt.secret_values(), rt.settings.admin_token]))


def backtest_page() -> str:
    """Pick a source and a number of events; see per rule what would happen, and what differs."""
    rt = runtime()
    sources = sorted(rt.config.sources)
    values = request.form if request.method == "POST" else request.args
    source = values.get("source", "")
    last, last_problem = _last(values.get("last", str(DEFAULT_LAST)).strip() or "x")
    editor = RuleEditor.from_form(request.form) if request.method == "POST" else RuleEditor()
    report: dict[str, Any] | None = None
    problem: str | None = last_problem
    wanted = request.method == "POST" and request.form.get("action", "run") == "run"
    if request.method == "POST" and not wanted:
        editor.load_picked(rt.config)
    elif request.method == "GET" and source:
        wanted = True
    if wanted and source not in rt.config.sources:
        problem = f"There is no source named {source[:64]!r} in the config."
    elif wanted:
        config = editor.config(rt.config)
        if config is not None:
            report = _run(config, source, last)
    return render_template(
        "backtest.html",
        source=source or (sources[0] if sources else ""),
        last=last,
        max_last=MAX_LAST,
        sources=sources,
        editor=editor,
        rule_names=rule_names(rt.config),
        all_rules=ALL_RULES,
        report=report,
        problem=problem,
    )
