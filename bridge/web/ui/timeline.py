"""The event page's timeline as server-rendered SVG: received, each job, each iVvy call with its
latency and answer, each task.  Shapes and words tell the steps apart, not colour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from bridge.store.states import DeliveryState, JobState
from bridge.web.ui.charts import PATTERNS, WIDTH

TEXT_W = 420  # the offset and the words; the time scale is to their right
PLOT_X = TEXT_W + 10
PLOT_W = WIDTH - PLOT_X - 12
ROW_H = 24
ORDER = {"received": 0, "queued": 1, "call": 2, "task": 3, "failed": 3, "finished": 4}


@dataclass(frozen=True)
class Step:
    """One thing that happened to the event."""

    at: datetime
    kind: str  # received | queued | call | task | failed | finished
    words: str
    seconds: float = 0.0  # how long it took (calls)
    ok: bool = True


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def steps(found: dict[str, Any]) -> list[Step]:
    """The event's steps in time order, from what the store holds about it."""
    received = _when(found["received_at"])
    assert received is not None
    out = [Step(received, "received", f"received from {found['source']} ({found['kind']})")]
    for number, job in enumerate(found["jobs"], 1):
        created = _when(job["created_at"])
        if created is not None and number > 1:
            out.append(Step(created, "queued", f"job {job['id']} queued (a replay)"))
        finished = _when(job["finished_at"])
        if finished is not None:
            dead = job["state"] == JobState.DEAD
            words = f"job {job['id']} {job['state']} after {job['attempts']} run(s)"
            out.append(Step(finished, "finished", words, ok=not dead))
    for call in found["attempts"]:
        started = _when(call["started_at"])
        if started is None:
            continue
        answer = f"HTTP {call['status']}" if call["status"] is not None else "no answer"
        ok = call["error"] is None and (call["status"] or 500) < 400
        words = f"{call['call']}: {answer} in {call['duration_ms']} ms"
        if not ok:
            words += " (failed)"
        seconds = (call["duration_ms"] or 0) / 1000
        out.append(Step(started, "call", words, seconds, ok))
    for delivery in found["deliveries"]:
        updated = _when(delivery["updated_at"])
        if updated is None:
            continue
        if delivery["task_id"] is not None:
            words = f"task {delivery['task_id']} created by rule {delivery['rule']}"
            out.append(Step(updated, "task", words))
        elif delivery["state"] == DeliveryState.FAILED:
            out.append(Step(updated, "failed", f"rule {delivery['rule']}: no task", ok=False))
    # At the same instant, the order things happen in: arrival, calls, their task, the job's end.
    return sorted(out, key=lambda step: (step.at, ORDER[step.kind]))


def _offset(seconds: float) -> str:
    if seconds < 1:
        return f"+{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"+{seconds:.1f} s"
    if seconds < 7200:
        return f"+{seconds / 60:.1f} min"
    return f"+{seconds / 3600:.1f} h"


def _mark(step: Step, x: float, width: float, y: float) -> str:
    mid = y + ROW_H / 2
    if step.kind == "received":
        return f'<circle cx="{x:.1f}" cy="{mid:.1f}" r="5" class="mark"/>'
    if step.kind == "call":
        fill = "" if step.ok else ' fill="url(#p-hatch)"'
        css = "bar solid" if step.ok else "bar hatch"
        return (
            f'<rect x="{x:.1f}" y="{mid - 6:.1f}" width="{max(4.0, width):.1f}" height="12" '
            f'class="{css}"{fill}/>'
        )
    if step.kind == "task":
        return (
            f'<polygon points="{x:.1f},{mid - 7:.1f} {x + 7:.1f},{mid:.1f} {x:.1f},{mid + 7:.1f} '
            f'{x - 7:.1f},{mid:.1f}" class="mark"/>'
        )
    if not step.ok:  # a failed rule or a dead job: a cross
        return (
            f'<path d="M{x - 5:.1f},{mid - 5:.1f} L{x + 5:.1f},{mid + 5:.1f} '
            f'M{x - 5:.1f},{mid + 5:.1f} L{x + 5:.1f},{mid - 5:.1f}" class="cross"/>'
        )
    return f'<rect x="{x - 4:.1f}" y="{mid - 4:.1f}" width="8" height="8" class="mark"/>'


def event_timeline(found: dict[str, Any], tz: ZoneInfo) -> Markup:
    """The timeline picture: one row per step, on a time scale from its arrival."""
    rows = steps(found)
    start = rows[0].at
    span = max(0.001, max((step.at - start).total_seconds() + step.seconds for step in rows))
    parts = []
    for index, step in enumerate(rows):
        y = index * ROW_H
        offset = (step.at - start).total_seconds()
        x = PLOT_X + PLOT_W * offset / span
        width = PLOT_W * step.seconds / span
        failed = "" if step.ok else ' class="failed"'
        clock = step.at.astimezone(tz).strftime("%H:%M:%S")
        parts.append(
            f'<g{failed}><text x="0" y="{y + 16}" class="offset">{escape(_offset(offset))}</text>'
            f'<text x="70" y="{y + 16}" class="step">{escape(step.words)}</text>'
            f"{_mark(step, x, width, y)}<title>{escape(clock)} {escape(step.words)}</title></g>"
        )
    height = len(rows) * ROW_H + 4
    desc = "; ".join(f"{_offset((s.at - start).total_seconds())} {s.words}" for s in rows)
    return Markup(  # noqa: S704 - every text above went through escape(), numbers are formatted
        f'<svg class="chart timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>Timeline of this event</title><desc>{escape(desc)}</desc>{PATTERNS}"
        f'<line x1="{PLOT_X}" y1="0" x2="{PLOT_X}" y2="{height}" class="tick"/>'
        f"{''.join(parts)}</svg>"
    )
