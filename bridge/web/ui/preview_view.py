"""The Preview page: a payload (pasted, or a stored event's), the rules, and their verdict.

The rules are the file's, or those typed in the rule editor (``rule_editor``): the page
runs them in place of the file's and saves nothing.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, render_template, request

from bridge.evaluation import PreviewError, preview
from bridge.sources.base import PayloadInvalid
from bridge.store import page_queries
from bridge.web.runtime_access import runtime
from bridge.web.ui.rule_editor import ALL_RULES, RuleEditor, rule_names

CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=",
)
FORM_KEYS = ("source", "content_type", "payload", "event_id")


def _stored_form(event_id: str) -> dict[str, str]:
    stored = page_queries.stored_body(runtime().engine, event_id.strip())
    if stored is None:
        abort(404, "There is no event with that id (it may have been pruned).")
    return {
        "source": stored.source,
        "content_type": stored.content_type,
        "payload": stored.body.decode("utf-8", errors="replace"),
        "event_id": event_id.strip(),
    }


def preview_page() -> str:
    """Paste a payload or load a stored event's, pick a source, see what the rules would do."""
    rt = runtime()
    sources = sorted(rt.config.sources)
    form = {"source": sources[0] if sources else "", "content_type": CONTENT_TYPES[0]}
    form.update(payload="", event_id="")
    editor = RuleEditor(picked=request.args.get("rule", ""))
    result: dict[str, Any] | None = None
    problem: str | None = None
    if request.method == "GET":
        if request.args.get("event"):
            form = _stored_form(request.args["event"])
        if editor.picked:
            editor.load_picked(rt.config)
    else:
        form = {key: request.form.get(key, "") for key in FORM_KEYS}
        editor = RuleEditor.from_form(request.form)
        action = request.form.get("action", "preview")
        if action == "load_rule":
            editor.load_picked(rt.config)
        elif action == "load_event":
            form = _stored_form(form["event_id"])
        else:
            config = editor.config(rt.config)
            if config is not None:
                try:
                    result = preview(
                        config,
                        form["source"],
                        form["payload"].encode("utf-8"),
                        form["content_type"] or CONTENT_TYPES[0],
                        rt.clock(),
                    )
                except (PreviewError, PayloadInvalid) as exc:
                    problem = str(exc)
    return render_template(
        "preview.html",
        form=form,
        sources=sources,
        content_types=CONTENT_TYPES,
        editor=editor,
        rule_names=rule_names(rt.config),
        all_rules=ALL_RULES,
        result=result,
        problem=problem,
        as_json=lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str),
    )
