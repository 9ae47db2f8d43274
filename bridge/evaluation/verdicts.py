"""One evaluation: the verdict of every rule on one event, for the worker and for preview.

The worker (``delivery/runner.py``), ``bridge preview``, ``POST /api/preview``, the Preview
page and the event page all call :func:`evaluate_event`.  Everything but the network is
decided here: matching, rendering, the owner plan, the task body iVvy would accept, and
the checks delivery makes between its calls (``checks.py``).  A verdict with an ``error``
is exactly the permanent failure the worker records for that rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bridge.evaluation.checks import plan_problem
from bridge.evaluation.warnings import rule_warnings
from bridge.events import Event
from bridge.rules.calendar import BusinessCalendar
from bridge.rules.engine import Lookups, evaluate
from bridge.rules.plan import ActionPlan, RuleOutcome, TaskPlan
from bridge.rules.rule import Rule

if TYPE_CHECKING:
    from bridge.config import Config

VerdictKind = Literal["no_match", "task", "action", "error"]


@dataclass(frozen=True)
class RuleVerdict:
    """One rule on one event: matched or not, why, and the task it makes or its error.

    ``error`` never repeats the rule's name (the worker prefixes ``rule <name>:`` once
    in the job's reason).  ``warnings`` name what the rule reads that the event lacks.
    """

    rule: str
    matched: bool
    reasons: tuple[str, ...] = ()
    plan: TaskPlan | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    action: ActionPlan | None = None  # complete, cancel or update earlier tasks

    @property
    def kind(self) -> VerdictKind:
        """``no_match``, ``task`` (the plan the worker sends), ``action`` (what it applies to
        earlier tasks) or ``error`` (what it records)."""
        if not self.matched:
            return "no_match"
        if self.error is not None:
            return "error"
        if self.action is not None:
            return "action"
        return "error" if self.plan is None else "task"


def evaluate_event(
    config: Config,
    event: Event,
    now: datetime,
    *,
    rules: Sequence[Rule] | None = None,
    calendar: BusinessCalendar | None = None,
    lookups: Lookups | None = None,
) -> list[RuleVerdict]:
    """Every rule's verdict on ``event``, in order (the worker passes ``now=received_at``).

    ``rules`` defaults to the config's (a pinned replay passes the stored ones);
    ``calendar`` to the config's (built once by a caller that evaluates many events);
    ``lookups`` answers a venue's timezone (the worker's directory; preview has none and
    uses the account's timezone).
    """
    chosen = config.rules if rules is None else rules
    outcomes = evaluate(
        event, chosen, now=now, calendar=calendar or config.calendar(), lookups=lookups
    )
    context = event.context()
    return [
        _verdict(outcome, rule_warnings(rule, event, context))
        for rule, outcome in zip(chosen, outcomes, strict=True)
    ]


def _verdict(outcome: RuleOutcome, warnings: tuple[str, ...]) -> RuleVerdict:
    verdict = RuleVerdict(
        outcome.rule,
        outcome.matched,
        tuple(outcome.reasons),
        outcome.plan,
        outcome.error,
        warnings,
        outcome.action,
    )
    if outcome.plan is not None:
        problem = plan_problem(outcome.plan)
        if problem is not None:
            return replace(verdict, plan=None, error=problem)
    return verdict


def summary(verdicts: Sequence[RuleVerdict]) -> str:
    """``2 of 5 rules matched; 1 task would be created; 1 error``."""
    matched = [v for v in verdicts if v.matched]
    tasks = sum(1 for v in matched if v.kind == "task")
    actions = sum(1 for v in matched if v.kind == "action")
    errors = sum(1 for v in matched if v.kind == "error")
    acting = f"{actions} would act on earlier tasks; " if actions else ""
    return (
        f"{len(matched)} of {len(verdicts)} rules matched; "
        f"{tasks} task{'s' if tasks != 1 else ''} would be created; {acting}"
        f"{errors} error{'s' if errors != 1 else ''}"
    )
