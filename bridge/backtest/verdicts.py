"""The seam between a backtest and the rules: one stored event in, one verdict per rule out.

Backtest, preview and the worker give the same verdicts: each comes from the one
evaluation (``bridge.evaluation.evaluate_event``), with ``now`` the event's arrival as the
worker runs it.  Nothing here calls iVvy: a venue's own timezone is not looked up (the
account's calendar is used, as preview does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bridge.config import Config
from bridge.evaluation import evaluate_event
from bridge.events import Event
from bridge.rules.due import to_ivvy_utc

VerdictKind = Literal["task", "action", "error", "no_match"]


@dataclass(frozen=True)
class Verdict:
    """One rule on one event: a task (its name and UTC due time), an action on earlier tasks
    (``task_name`` says it in words), an error, or no match."""

    rule: str
    kind: VerdictKind
    reasons: tuple[str, ...] = ()
    task_name: str | None = None
    due_utc: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()  # names the rule reads that the event lacks


class Evaluator:
    """Runs a config's rules on stored events, as the worker would (due dates from arrival)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.calendar = config.calendar()  # built once: it caches holidays per year

    @property
    def rule_names(self) -> list[str]:
        """The config's rules, in order."""
        return [rule.name for rule in self.config.rules]

    def verdicts(self, event: Event) -> list[Verdict]:
        """Each rule's verdict on ``event``, evaluated as of when it arrived."""
        found: list[Verdict] = []
        arrived = event.received_at
        for verdict in evaluate_event(self.config, event, arrived, calendar=self.calendar):
            base = Verdict(verdict.rule, "no_match", verdict.reasons, warnings=verdict.warnings)
            if verdict.kind == "no_match":
                found.append(base)
            elif verdict.kind == "action" and verdict.action is not None:
                action = verdict.action
                words = f"{action.action} the open tasks of {', '.join(action.of_rules)}"
                found.append(replace(base, kind="action", task_name=words))
            elif verdict.kind == "error" or verdict.plan is None:
                error = verdict.error or "the rule produced no task"
                found.append(replace(base, kind="error", error=error))
            else:
                name, due = verdict.plan.name, to_ivvy_utc(verdict.plan.due)
                found.append(replace(base, kind="task", task_name=name, due_utc=due))
        return found
