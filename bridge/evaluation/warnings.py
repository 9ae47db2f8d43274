"""Loud about empty: what a rule reads that the event lacks, with the nearest names it has."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bridge.events import Event
from bridge.rules.names import condition_paths, lacking, template_hints
from bridge.rules.rule import Rule
from bridge.rules.templates import Template


def rule_templates(rule: Rule) -> Iterator[Template]:
    """Every template of ``rule``: task (or action), due date base, assignees, venue, owner."""
    task, owner, action = rule.task, rule.owner, rule.action
    candidates: list[Template | int | None] = [rule.venue]
    if task is not None:
        candidates += [task.name, task.description, task.due.base, *task.assignees, task.key]
    if action is not None:
        due = action.due.base if action.due is not None else None
        candidates += [action.key, action.name, action.description, action.append, due]
        candidates += [*action.assignees]
    if owner is not None:
        candidates += [
            owner.id,
            owner.venue,
            owner.email,
            owner.business_name,
            *owner.contact_fields.values(),
            owner.lead_name,
            owner.lead_description,
        ]
    for candidate in candidates:
        if isinstance(candidate, Template):
            yield candidate


def rule_warnings(rule: Rule, event: Event, context: Mapping[str, Any]) -> tuple[str, ...]:
    """One line per name ``rule`` reads and ``event`` lacks; none for other sources' rules."""
    if not rule.trigger.evaluate(event.source, event.kind).holds:
        return ()
    found: list[str] = []
    if rule.when is not None:
        found += [hint for path in condition_paths(rule.when) if (hint := lacking(path, context))]
    for template in rule_templates(rule):
        found += template_hints(template, context)
    return tuple(dict.fromkeys(found))
