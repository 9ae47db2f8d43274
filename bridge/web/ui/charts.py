"""Server-rendered SVG pictures for the status pages: no script, no download, no colour needed.

Every series is told apart by its label and its fill pattern (solid, hatched,
dotted), not by colour alone; every bar has a ``<title>`` with its hour and
value, and every picture a ``<title>`` and ``<desc>`` that say what it shows.
Colours come from classes in bridge.css (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from bridge.store.history import History

WIDTH = 720
LABEL_W = 150  # the left column: a row's name and its total
PLOT_W = WIDTH - LABEL_W - 10
ROW_H = 46
PATTERNS = Markup(
    "<defs>"
    '<pattern id="p-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" class="bg"/>'
    '<line x1="0" y1="0" x2="0" y2="6" class="ink" stroke-width="3"/></pattern>'
    '<pattern id="p-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" class="bg"/><circle cx="2.5" cy="2.5" r="1.6" class="ink-fill"/>'
    "</pattern>"
    '<pattern id="p-band" width="8" height="8" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="8" class="band-ink" '
    'stroke-width="2"/></pattern>'
    "</defs>"
)
FILLS = {"solid": "bar solid", "hatch": "bar hatch", "dots": "bar dots"}
FILL_URL = {"solid": "", "hatch": ' fill="url(#p-hatch)"', "dots": ' fill="url(#p-dots)"'}


def _markup(*parts: str) -> Markup:
    """Join SVG fragments built here: every text in them went through ``escape`` and every
    number through a format, so the result is safe to mark as markup."""
    return Markup("".join(parts))  # noqa: S704 - see the docstring


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return duration(value)
    return f"{int(value)}"


def duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3.5 h``: a wait, short."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _axis(history: History, top: float, tz: ZoneInfo) -> Markup:
    """Hour ticks under the bars: every 3 h over a day, each midnight over a week."""
    step = PLOT_W / history.hours
    parts = []
    for index in range(history.hours):
        local = history.bucket_start(index).astimezone(tz)
        if history.hours <= 24:
            show = local.hour % 3 == 0
            label = local.strftime("%H:00")
        else:
            show = local.hour == 0
            label = local.strftime("%a %d")
        x = LABEL_W + index * step
        if not show or x > WIDTH - 30:  # a label at the right edge would be cut off
            continue
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + 4}" class="tick"/>'
            f'<text x="{x:.1f}" y="{top + 16}" class="axis">{escape(label)}</text>'
        )
    return _markup(*parts)


def _row(
    values: Sequence[float],
    top: float,
    name: str,
    fill: str,
    unit: str,
    hour_label: Callable[[int], str],
) -> Markup:
    """One labelled row of hourly bars, scaled to its own largest value."""
    step = PLOT_W / len(values)
    peak = max(values) if values else 0
    total = sum(values)
    if unit == "s":
        summary = f"longest {_fmt(peak, unit)}"
    elif unit == "at once":
        summary = f"most at once {int(peak)}"
    else:
        summary = f"{int(total)} in all"
    parts = [
        f'<text x="0" y="{top + 18}" class="row-name">{escape(name)}</text>',
        f'<text x="0" y="{top + 34}" class="row-total">{escape(summary)}</text>',
        f'<line x1="{LABEL_W}" y1="{top + ROW_H - 6}" x2="{WIDTH - 10}" '
        f'y2="{top + ROW_H - 6}" class="baseline"/>',
    ]
    height = ROW_H - 10
    for index, value in enumerate(values):
        if not value:
            continue
        h = max(2.0, height * value / peak)
        x = LABEL_W + index * step + 0.5
        y = top + ROW_H - 6 - h
        tip = f"{hour_label(index)}: {_fmt(value, unit)} {name}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(1.0, step - 1):.1f}" height="{h:.1f}" '
            f'class="{FILLS[fill]}"{FILL_URL[fill]}><title>{escape(tip)}</title></rect>'
        )
    if peak and unit == "n":
        parts.append(
            f'<text x="{WIDTH - 10}" y="{top + 10}" class="peak">peak {_fmt(peak, unit)}/h</text>'
        )
    return _markup(*parts)


def _svg(title: str, desc: str, height: float, body: Markup, css: str) -> Markup:
    return _markup(
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{PATTERNS}{body}</svg>"
    )


def _hour_label(history: History, tz: ZoneInfo) -> Callable[[int], str]:
    def label(index: int) -> str:
        start = history.bucket_start(index).astimezone(tz)
        return f"{start:%a %d %b %H:00}-{(start + timedelta(hours=1)):%H:00}"

    return label


def source_chart(history: History, source: str, tz: ZoneInfo) -> Markup:
    """Webhooks received, tasks created and failures per hour for one source."""
    series = history.sources.get(source) or {}
    zero = [0] * history.hours
    rows = [
        ("received", series.get("received", zero), "solid"),
        ("tasks created", series.get("tasks", zero), "hatch"),
        ("failures", series.get("failures", zero), "dots"),
    ]
    label = _hour_label(history, tz)
    body = [_row(values, i * ROW_H, name, fill, "n", label) for i, (name, values, fill) in
            enumerate(rows)]  # fmt: skip
    top = len(rows) * ROW_H
    body.append(_axis(history, top, tz))
    desc = "; ".join(f"{name}: {sum(values)}" for name, values, _ in rows)
    title = f"{source}: per hour over the last {_span_words(history)}"
    return _svg(title, desc, top + 22, _markup(*body), "source-chart")


def _span_words(history: History) -> str:
    return "24 hours" if history.hours <= 24 else f"{history.hours // 24} days"


def queue_chart(history: History, tz: ZoneInfo) -> Markup:
    """The queue's depth and its oldest waiting job per hour, circuit-open periods marked."""
    label = _hour_label(history, tz)
    rows_top = 18  # room for the circuit labels above the rows
    body = [
        _row(history.depth, rows_top, "jobs waiting", "solid", "at once", label),
        _row(history.oldest, rows_top + ROW_H, "oldest waiting", "hatch", "s", label),
    ]
    bottom = rows_top + 2 * ROW_H
    span = (history.end - history.start).total_seconds() or 1.0
    full = history.hours * 3600.0
    for opened, closed, _worker in history.circuit:
        end = closed or history.end
        x0 = LABEL_W + PLOT_W * (opened - history.start).total_seconds() / full
        x1 = LABEL_W + PLOT_W * min(span, (end - history.start).total_seconds()) / full
        width = max(3.0, x1 - x0)
        words = f"iVvy circuit open {opened.astimezone(tz):%a %H:%M}-" + (
            f"{closed.astimezone(tz):%H:%M}" if closed else "now"
        )
        body.append(
            _markup(
                f'<rect x="{x0:.1f}" y="{rows_top}" width="{width:.1f}" '
                f'height="{bottom - rows_top - 6}" class="band" fill="url(#p-band)">'
                f"<title>{escape(words)}</title></rect>"
                f'<text x="{x0:.1f}" y="12" class="band-label">circuit open</text>'
            )
        )
    body.append(_axis(history, bottom, tz))
    peak_depth = max(history.depth) if history.depth else 0
    peak_wait = max(history.oldest) if history.oldest else 0.0
    desc = (
        f"most jobs waiting at once: {peak_depth}; longest wait: {duration(peak_wait)}; "
        f"circuit open {len(history.circuit)} time(s)"
    )
    title = f"The queue over the last {_span_words(history)}"
    return _svg(title, desc, bottom + 22, _markup(*body), "queue-chart")


def circuit_lines(history: History, tz: ZoneInfo) -> list[str]:
    """The circuit's open periods as text, for the list under the picture."""
    lines = []
    for opened, closed, worker in history.circuit:
        until = f"{closed.astimezone(tz):%a %d %b %H:%M}" if closed else "still open"
        length = duration(((closed or history.end) - opened).total_seconds())
        lines.append(f"{opened.astimezone(tz):%a %d %b %H:%M} to {until} ({length}), {worker}")
    return lines


def local(value: datetime, tz: ZoneInfo) -> str:
    """A time in the venue's timezone, to the second."""
    return value.astimezone(tz).strftime("%H:%M:%S")
