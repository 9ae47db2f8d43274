"""The names a rule reads, and what to say when the event lacks one.

Templates and conditions read the same mapping (``Event.context``) through the same
paths: ``guests``, ``answers.event_type``, ``data.ownerUser.id``.  A name the event does
not have is worth a word ("guest: not in this event; did you mean guests?"), except where
the rule already allows for its absence: ``default(...)``, ``is defined``, ``exists``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import nodes

from bridge.rules.conditions import All, AnyOf, Condition, FieldCondition, Not
from bridge.rules.templates import ENVIRONMENT, Template
from bridge.rules.values import MISSING, resolve

# Filters and tests that say "this may be absent": names under them are not warned about.
_GUARDING_FILTERS = frozenset({"default", "d"})
_GUARDING_TESTS = frozenset({"defined", "undefined", "none"})
# Operators that read data / previous_data, and ``exists``, which asks about absence itself.
_CHANGE_OPERATORS = frozenset({"changed", "changed_from", "changed_to"})
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop"})


@lru_cache(maxsize=1024)
def template_paths(source: str) -> tuple[str, ...]:
    """The dotted paths ``source`` reads without a guard, in order, once each."""
    tree = ENVIRONMENT.parse(source)
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    read = list(_paths(tree, guarded=False))
    # A name guarded anywhere ({% if x is defined %}...{{ x }}) is allowed for everywhere.
    guarded = {path for path, is_guarded in read if is_guarded}
    found: list[str] = []
    for path, _ in read:
        root = path.split(".", 1)[0]
        if root in local or root in _JINJA_GLOBALS or path in guarded or path in found:
            continue
        found.append(path)
    return tuple(found)


def _paths(node: nodes.Node, *, guarded: bool) -> Iterator[tuple[str, bool]]:
    if isinstance(node, nodes.Filter) and node.name in _GUARDING_FILTERS:
        if node.node is not None:
            yield from _paths(node.node, guarded=True)
        for arg in node.args:
            yield from _paths(arg, guarded=guarded)
        return
    if isinstance(node, nodes.Test) and node.name in _GUARDING_TESTS:
        yield from _paths(node.node, guarded=True)
        return
    path = _dotted(node)
    if path is not None:
        yield path, guarded
        return
    for child in node.iter_child_nodes():
        yield from _paths(child, guarded=guarded)


def _dotted(node: nodes.Node) -> str | None:
    """``data.ownerUser.id`` for a chain of attribute or constant look-ups on a name."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _dotted(node.node)
        return f"{base}.{node.attr}" if base is not None else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _dotted(node.node)
        return f"{base}.{node.arg.value}" if base is not None else None
    return None


def condition_paths(condition: Condition) -> Iterator[str]:
    """The context paths a condition reads (``exists`` excluded: it asks about absence)."""
    if isinstance(condition, All | AnyOf):
        for part in condition.parts:
            yield from condition_paths(part)
    elif isinstance(condition, Not):
        yield from condition_paths(condition.part)
    elif isinstance(condition, FieldCondition) and condition.operator != "exists":
        if condition.operator in _CHANGE_OPERATORS:
            yield "data." + condition.field.removeprefix("data.")
        else:
            yield condition.field


def lacking(path: str, context: Mapping[str, Any]) -> str | None:
    """``"guest: not in this event; did you mean guests?"``, or None when the event has it."""
    if resolve(context, path) is not MISSING:
        return None
    parts = path.split(".")
    parent: Any = context
    for depth, part in enumerate(parts):
        if not isinstance(parent, Mapping) or part not in parent:
            prefix = ".".join(parts[:depth])
            break
        parent = parent[part]
    else:  # pragma: no cover - resolve found it
        return None
    if not isinstance(parent, Mapping):
        return f"{path}: not in this event ({prefix} has no parts)"
    names = [str(key) for key in parent]
    close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == part.lower() and n not in close]
    if not close:
        return f"{path}: not in this event"
    shown = [f"{prefix}.{name}" if prefix else name for name in close]
    return f"{path}: not in this event; did you mean {' or '.join(shown)}?"


def template_hints(template: Template | None, context: Mapping[str, Any]) -> list[str]:
    """What ``template`` reads that the event lacks, each with the nearest names it has."""
    if template is None:
        return []
    return [hint for path in template_paths(template.source) if (hint := lacking(path, context))]


def with_hints(message: str, template: Template | None, context: Mapping[str, Any]) -> str:
    """``message``, followed by why the template rendered empty when a name is missing."""
    hints = template_hints(template, context)
    return f"{message} ({'; '.join(hints)})" if hints else message


# Names a preview lists one level down: what a rule most often reads.
_LISTED_INSIDE = ("answers", "data", "previous_data")
_ALIASES = frozenset({"previousData", "subject", "raw"})


def available_names(context: Mapping[str, Any]) -> list[str]:
    """The names an event provides, as a rule writes them: ``guests``, ``answers.guests``...

    Top-level names first, then the keys of ``answers``, ``data`` and ``previous_data``
    (aliases and ``raw``, the payload as sent, are left out).
    """
    names = [str(key) for key in context if key not in _ALIASES]
    for inner in _LISTED_INSIDE:
        value = context.get(inner)
        if isinstance(value, Mapping):
            names += [f"{inner}.{key}" for key in value]
    return names
