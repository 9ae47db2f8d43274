"""A backtest: a config's rules run on stored events, counted per rule, set against the past.

Read only and offline: nothing is sent to iVvy and nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge.backtest.compare import SETTLED, Then, difference, then_for, updates_open_task
from bridge.backtest.verdicts import Evaluator, Verdict
from bridge.config import Config
from bridge.events import Event
from bridge.sources.base import PayloadInvalid, SourceType, SourceUnavailable
from bridge.sources.stored import parse_stored, stored_event
from bridge.store.backtest_reads import StoredRun
from bridge.store.states import EventState

ACTION_KINDS = ("complete", "cancel", "update")


@dataclass
class RuleTally:
    """One rule over the events: how many it matched, tasks, actions, errors, differences.

    ``actions`` counts, by kind, the events on which the rule would complete, cancel or
    update earlier tasks (an ``update_open`` task that would update its key's open task
    counts as an ``update``, not a task).
    """

    rule: str
    matched: int = 0
    tasks: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    differences: int = 0
    # Names the rule reads that matched events lack ("guest: not in this event; ...").
    warnings: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """The tally as JSON; errors most frequent first."""
        return {
            "rule": self.rule,
            "matched": self.matched,
            "tasks": self.tasks,
            "actions": sum(self.actions.values()),
            "action_counts": {kind: self.actions[kind] for kind in ACTION_KINDS},
            "errors": sum(self.errors.values()),
            "differences": self.differences,
            "error_counts": [
                {"error": error, "count": count} for error, count in self.errors.most_common()
            ],
            "warning_counts": [
                {"warning": warning, "count": count}
                for warning, count in self.warnings.most_common()
            ],
        }


@dataclass(frozen=True)
class Difference:
    """Where a verdict and what happened to that event disagree."""

    event_id: str
    received_at: str
    rule: str
    now: Verdict | None
    then: Then
    summary: str

    def to_json(self) -> dict[str, Any]:
        """The difference as JSON."""
        now = None if self.now is None else _verdict_json(self.now)
        then = {k: _plain(v) for k, v in vars(self.then).items() if v not in (None, (), False)}
        return {
            "event": self.event_id,
            "received_at": self.received_at,
            "rule": self.rule,
            "now": now,
            "then": then,
            "summary": self.summary,
        }


@dataclass
class Report:
    """A whole backtest."""

    source: str
    config_path: str
    rules_digest: str
    last: int
    tallies: dict[str, RuleTally]
    runs: list[dict[str, Any]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    evaluated: int = 0
    invalid: int = 0
    unsettled: int = 0

    @property
    def summary(self) -> str:
        """One line: events, tasks, actions (when any), errors, differences."""
        tasks = sum(t.tasks for t in self.tallies.values())
        actions = sum(sum(t.actions.values()) for t in self.tallies.values())
        errors = sum(sum(t.errors.values()) for t in self.tallies.values())
        events = len(self.runs) + self.invalid
        acting = f", {actions} action{_s(actions)} on earlier tasks" if actions else ""
        line = (
            f"{events} event{_s(events)} of {self.source}: {tasks} task{_s(tasks)} would be "
            f"created{acting}, {errors} error{_s(errors)}; {len(self.differences)} "
            f"difference{_s(len(self.differences))} from what happened"
        )
        skipped = []
        if self.invalid:
            skipped.append(f"{self.invalid} invalid")
        if self.unsettled:
            skipped.append(f"{self.unsettled} not settled")
        return line + (f" ({', '.join(skipped)}, not compared)" if skipped else "")

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (the CLI's --json and the admin API)."""
        return {
            "source": self.source,
            "config": self.config_path,
            "rules_digest": self.rules_digest,
            "last": self.last,
            "events": len(self.runs) + self.invalid,
            "evaluated": self.evaluated,
            "invalid": self.invalid,
            "unsettled": self.unsettled,
            "rules": [tally.to_json() for tally in self.tallies.values()],
            "differences": [d.to_json() for d in self.differences],
            "runs": self.runs,
            "summary": self.summary,
        }


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": verdict.rule, "verdict": verdict.kind}
    if verdict.kind == "task":
        out.update(task=verdict.task_name, due_utc=verdict.due_utc)
        if verdict.update_open:
            out.update(update_open=True, key=verdict.key)
    if verdict.kind == "action":
        out.update(action=verdict.action, tasks_of=list(verdict.tasks_of))
        if verdict.key is not None:
            out["key"] = verdict.key
    if verdict.error:
        out["error"] = verdict.error
    return out


def backtest(config: Config, source: str, runs: list[StoredRun], last: int) -> Report:
    """Run ``config``'s rules on ``runs`` (newest first) and compare with what happened."""
    evaluator = Evaluator(config)
    report = Report(
        source=source,
        config_path=config.path,
        rules_digest=config.rules_digest,
        last=last,
        tallies={name: RuleTally(name) for name in evaluator.rule_names},
    )
    for run in runs:
        event = _event_of(run, config.sources.get(source))
        if event is None:  # invalid: there was never an event to run rules on
            report.invalid += 1
            continue
        verdicts = evaluator.verdicts(event)
        report.evaluated += 1
        if run.state not in SETTLED:
            report.unsettled += 1
        _tally(report, run, verdicts)
    return report


def _event_of(run: StoredRun, source: SourceType | None) -> Event | None:
    if run.event is None:
        # Not parsed yet (still queued, or its job died first), or invalid: parsed here as
        # the worker would, with the source as configured; None if it cannot be.
        if run.state == EventState.INVALID or source is None or run.request is None:
            return None
        try:
            return parse_stored(source, run.request, run.received_at)
        except (PayloadInvalid, SourceUnavailable):
            return None
    try:
        return stored_event(run.event, run.request)
    except (KeyError, TypeError, ValueError):  # stored by a version whose Event differed
        return None


def _tally(report: Report, run: StoredRun, verdicts: list[Verdict]) -> None:
    received = run.received_at.isoformat()
    for verdict in verdicts:
        tally = report.tallies[verdict.rule]
        if verdict.kind != "no_match":
            tally.matched += 1
        then = then_for(run, verdict.rule)
        if updates_open_task(verdict, then):
            tally.actions["update"] += 1
        elif verdict.kind == "task":
            tally.tasks += 1
        if verdict.kind == "action" and verdict.action:
            tally.actions[verdict.action] += 1
        if verdict.kind == "error" and verdict.error:
            tally.errors[verdict.error] += 1
        if verdict.kind != "no_match":
            tally.warnings.update(verdict.warnings)
        said = difference(verdict, then)
        if said is not None:
            tally.differences += 1
            report.differences.append(
                Difference(run.id, received, verdict.rule, verdict, then, said)
            )
    known = {verdict.rule for verdict in verdicts}
    for rule in sorted(set(run.deliveries) - known):  # rules gone from this config
        then = then_for(run, rule)
        said = difference(None, then)
        if said is not None:
            report.differences.append(Difference(run.id, received, rule, None, then, said))
    report.runs.append(
        {
            "event": run.id,
            "received_at": received,
            "state": run.state,
            "rules": [_verdict_json(v) for v in verdicts if v.kind != "no_match"],
        }
    )
