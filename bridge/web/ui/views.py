"""The status pages' views: overview, event list, one event, replay (preview and backtest
have their own modules)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from bridge.logs import Redactor
from bridge.sources.stored import with_raw
from bridge.store import page_queries, queries
from bridge.store.events import stored_request
from bridge.store.history import SPANS, load_history
from bridge.store.maintenance import ReplayRefused, dead_jobs, replay_event
from bridge.store.states import ACTIVE_JOB_STATES, DeliveryState
from bridge.task_status import TaskStatus
from bridge.web.runtime_access import runtime
from bridge.web.ui.backtest_view import backtest_page
from bridge.web.ui.charts import circuit_lines, queue_chart, source_chart
from bridge.web.ui.explain import (
    RuleExplanation,
    event_names,
    explain_rules,
    redact_rows,
    redactor_for,
    task_link,
)
from bridge.web.ui.forms import EventFilters
from bridge.web.ui.preview_view import preview_page
from bridge.web.ui.timeline import event_timeline

log = logging.getLogger(__name__)
PAGE_SIZE = 50
RULE_CHOICES: dict[str, Literal["current", "original"]] = {
    "current": "current",
    "original": "original",
}
IVVY_VERDICTS = {"ok": "reachable", "unreachable": "unreachable", "unchecked": "unknown"}


def _redactor() -> Redactor:
    rt = runtime()
    return redactor_for([*rt.secret_values(), rt.settings.admin_token])


def _ivvy_status() -> dict[str, Any]:
    """The verdict /readyz cached for this process; never pings from here."""
    check = current_app.extensions.get("bridge.ivvy_check")
    if check is None or check.checked_at is None:
        return {"verdict": "unknown", "checked_at": None}
    return {"verdict": IVVY_VERDICTS.get(check.verdict, "unknown"), "checked_at": check.checked_at}


def overview() -> str:
    """Per-source counts for the last hour and day, the queue, and iVvy."""
    rt = runtime()
    now = rt.clock()
    counts = page_queries.overview_counts(
        rt.engine, hour_ago=now - timedelta(hours=1), day_ago=now - timedelta(days=1)
    )
    for name in rt.config.sources:
        counts.setdefault(name, page_queries.SourceCounts.zero())
    span = request.args.get("span", "24h")
    if span not in SPANS:
        span = "24h"
    tz = ZoneInfo(rt.config.ivvy.timezone)
    history = load_history(rt.engine, now=now, hours=SPANS[span])
    names = sorted({*rt.config.sources, *history.sources})
    return render_template(
        "overview.html",
        span=span,
        source_charts=[(name, source_chart(history, name, tz)) for name in names],
        queue_svg=queue_chart(history, tz),
        circuit=circuit_lines(history, tz),
        counts=sorted(counts.items()),
        queue=queries.queue_stats(rt.engine, now=now),
        dead=redact_rows(dead_jobs(rt.engine, limit=5), _redactor()),
        ivvy=_ivvy_status(),
    )


def event_list() -> str:
    """Events newest first, filtered and searched, a page at a time."""
    rt = runtime()
    filters = EventFilters.from_args(request.args, rt.config.ivvy.timezone)
    try:
        page = queries.list_events(
            rt.engine,
            source=filters.source or None,
            state=filters.state or None,
            since=filters.since,
            until=filters.until,
            search=filters.q or None,
            limit=PAGE_SIZE,
            cursor=filters.cursor or None,
        )
    except ValueError:
        abort(400, "That page link is not valid any more; start again from the newest events.")
    rows = redact_rows(page["events"], _redactor())
    details = page_queries.list_details(rt.engine, [row["id"] for row in rows])
    web_url = rt.config.ivvy.web_url
    for row in rows:
        row.update(details[row["id"]])
        row["tasks"] = [(tid, task_link(web_url, tid)) for tid in row["task_ids"]]
    next_url = (
        url_for("ui.events", **filters.query_args(cursor=page["next"])) if page["next"] else None
    )
    return render_template(
        "events.html",
        rows=rows,
        filters=filters,
        sources=sorted(rt.config.sources),
        states=queries.EVENT_STATES,
        next_url=next_url,
    )


def event_page(event_id: str) -> str:
    """One event: fields, rule verdicts, tasks, attempts, and the replay buttons."""
    rt = runtime()
    found = queries.get_event(rt.engine, event_id)
    if found is None:
        abort(404, "There is no event with that id (it may have been pruned).")
    found["event"] = with_raw(found["event"], stored_request(rt.engine, event_id))
    redact = _redactor()
    found["last_error"] = redact(found["last_error"]) if found["last_error"] else None
    deliveries = redact_rows(found["deliveries"], redact)
    changes = page_queries.task_changes(
        rt.engine, [d["id"] for d in deliveries if d["state"] == DeliveryState.DONE]
    )
    for delivery in deliveries:
        delivery["link"] = task_link(rt.config.ivvy.web_url, delivery["task_id"])
        delivery["task_json"] = json.dumps(delivery["task"], indent=2) if delivery["task"] else ""
        later = redact_rows(changes.get(delivery["id"], []), redact)
        delivery["changes"] = [_change(c) for c in later]
    actions = [
        _change(a) for a in redact_rows(page_queries.event_actions(rt.engine, event_id), redact)
    ]
    active = [job for job in found["jobs"] if job["state"] in ACTIVE_JOB_STATES]
    return render_template(
        "event.html",
        event=found,
        stored=found["event"] or {},
        data_json=_pretty(found["event"], "data"),
        previous_json=_pretty(found["event"], "previous_data"),
        explanations=_explanations(found["event"]),
        names=_names(found["event"]),
        rules_changed=found["rules_digest"] not in (None, rt.config.rules_digest),
        deliveries=deliveries,
        actions=actions,
        jobs=redact_rows(found["jobs"], redact),
        attempts=redact_rows(found["attempts"], redact),
        active_job=bool(active),
        timeline=event_timeline(found, ZoneInfo(rt.config.ivvy.timezone)),
    )


def _change(row: dict[str, Any]) -> dict[str, Any]:
    """An action on a task, in words: what it set (the body's fields, the description aside)."""
    body = row.get("body") or {}
    if isinstance(body, str):
        body = json.loads(body)
    shown = []
    for name, value in body.items():
        if name in ("id", "venueId"):
            continue
        if name == "status":
            value = TaskStatus(int(value)).label
        elif name == "description":
            lines = str(value).splitlines()
            value = f"a line added: {lines[-1]}" if lines else ""
        shown.append(f"{name}: {value}")
    before = row.get("status_before")
    return {
        **row,
        "set": shown,
        "before": TaskStatus(int(before)).label if before is not None else None,
    }


def _explanations(stored: dict[str, Any] | None) -> list[RuleExplanation] | None:
    """The current rules' verdicts on a stored event; None when they cannot be re-run."""
    try:
        return explain_rules(runtime().config, stored)
    except Exception as exc:  # an event stored by an older version may not load any more
        log.warning("rules could not be re-run", extra={"error_type": type(exc).__name__})
        return None


def _names(stored: dict[str, Any] | None) -> list[str]:
    try:
        return event_names(stored)
    except Exception as exc:  # as _explanations: an old stored event may not load any more
        log.warning("names could not be listed", extra={"error_type": type(exc).__name__})
        return []


def _pretty(stored: dict[str, Any] | None, key: str) -> str:
    value = (stored or {}).get(key)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) if value else ""


def replay(event_id: str) -> BaseResponse:
    """Queue the event again with the current or the original rules."""
    rules = RULE_CHOICES.get(request.form.get("rules", "current"))
    if rules is None:
        abort(400, "Choose the current or the original rules.")
    rt = runtime()
    try:
        result = replay_event(rt.engine, event_id, rules=rules, now=rt.clock())
        assert result is not None  # only a dry run returns None
    except LookupError:
        abort(404, "There is no event with that id.")
    except ReplayRefused as exc:
        flash(f"Not replayed: {exc}.", "error")
        return redirect(url_for("ui.event", event_id=event_id))
    log.info("event replayed", extra={"event_id": event_id, "job": result.job_id, "rules": rules})
    flash(
        f"Replay queued as job {result.job_id} with the {rules} rules: "
        f"{result.reset_deliveries} failed deliveries retried, {result.kept_deliveries} "
        "kept (tasks already created are not created again).",
        "ok",
    )
    return redirect(url_for("ui.event", event_id=event_id))


def register_routes(bp: Blueprint) -> None:
    """Add the pages to the status pages' blueprint."""
    bp.add_url_rule("/", "overview", overview)
    bp.add_url_rule("/events", "events", event_list)
    bp.add_url_rule("/events/<event_id>", "event", event_page)
    bp.add_url_rule("/events/<event_id>/replay", "replay", replay, methods=["POST"])
    bp.add_url_rule("/preview", "preview", preview_page, methods=["GET", "POST"])
    bp.add_url_rule("/backtest", "backtest", backtest_page, methods=["GET", "POST"])
