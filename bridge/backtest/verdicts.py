"""The seam between a backtest and the rules: one stored event in, one verdict per rule out.

Backtest and preview must agree with the worker.  Everything a backtest knows about a
rule's outcome comes through :class:`Evaluator`, so switching to the shared evaluation
changes this module only.  Nothing here calls iVvy: a venue's own timezone is not looked
up (the account's calendar is used, as preview does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.config import Config
from bridge.events import Event
from bridge.rules.due import to_ivvy_utc
from bridge.rules.engine import evaluate

VerdictKind = Literal["task", "error", "no_match"]


@dataclass(frozen=True)
class Verdict:
    """One rule on one event: a task (its name and UTC due time), an error, or no match."""

    rule: str
    kind: VerdictKind
    reasons: tuple[str, ...] = ()
    task_name: str | None = None
    due_utc: str | None = None
    error: str | None = None


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
        outcomes = evaluate(event, self.config.rules, now=event.received_at, calendar=self.calendar)
        found: list[Verdict] = []
        for outcome in outcomes:
            reasons = tuple(outcome.reasons)
            if not outcome.matched:
                found.append(Verdict(outcome.rule, "no_match", reasons))
            elif outcome.error or outcome.plan is None:
                error = outcome.error or "the rule produced no task"
                found.append(Verdict(outcome.rule, "error", reasons, error=error))
            else:
                plan = outcome.plan
                found.append(
                    Verdict(
                        outcome.rule,
                        "task",
                        reasons,
                        task_name=plan.name,
                        due_utc=to_ivvy_utc(plan.due),
                    )
                )
        return found
