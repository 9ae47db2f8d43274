"""Rules written in a form (the Preview and Backtest pages), checked as the config file's are.

The text is what sits under ``rules:`` in the file (a list of rules) or one rule (a
mapping).  It goes through the same YAML loader and rule schema as the file, so every
problem names its line and path (``line 4: rules[0].task.due: unknown unit ...``).
Nothing is saved: the config stays a file.  A form does not read the environment, so a
``${VAR}`` is refused (write the value itself).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from bridge.config.errors import ErrorCollector, format_path
from bridge.config.interpolate import EnvironmentReader
from bridge.config.loader import _rules
from bridge.config.yaml_lines import (
    LoadedYaml,
    Path,
    YamlSyntaxError,
    load_yaml_with_lines,
)

if TYPE_CHECKING:
    from bridge.rules.rule import Rule

_NO_ENVIRONMENT = "${...} reads the environment in the config file only; write the value here"


@dataclass(frozen=True)
class RuleTextProblem:
    """One problem: its 1-based line in the text and ``path: message``."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RuleTextInvalid(ValueError):
    """The text is not valid rules; ``problems`` in line order."""

    def __init__(self, problems: list[RuleTextProblem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class RulesFromText:
    """Compiled rules and their data (as ``Config.rules_data`` holds it)."""

    rules: list[Rule]
    data: list[Any]


class _Problems(ErrorCollector):
    """An ErrorCollector whose entries are (line, "path: message"), without a file name."""

    def add(self, path: Path, message: str) -> None:
        line = self.loaded.line_of(path) if self.loaded is not None else 1
        shown = format_path(path)
        self.entries.append((line, f"{shown}: {message}" if shown else message))

    def problems(self) -> list[RuleTextProblem]:
        return [RuleTextProblem(line, text) for line, text in sorted(self.entries)]


def _no_environment(path: Path, value: str) -> str:
    if "${" in value.replace("$${", ""):
        raise ValueError(_NO_ENVIRONMENT)
    return EnvironmentReader({}).interpolate(value)  # $${ still writes a literal ${


def load_rules_text(text: str, source_names: Iterable[str]) -> RulesFromText:
    """Compile the rules in ``text``; raise :class:`RuleTextInvalid` naming each line."""
    try:
        loaded = load_yaml_with_lines(text, _no_environment)
    except YamlSyntaxError as exc:
        raise RuleTextInvalid([RuleTextProblem(exc.line or 1, exc.message)]) from None
    value = loaded.value
    prefix: Path
    if isinstance(value, dict):  # one rule: as if it were the first of the list
        value, prefix = [value], ("rules", 0)
    else:
        prefix = ("rules",)
    moved = LoadedYaml(
        value={"rules": value},
        lines={(*prefix, *path): line for path, line in loaded.lines.items()},
        problems=[((*prefix, *path), message) for path, message in loaded.problems],
    )
    errors = _Problems("", moved)
    for path, message in moved.problems:
        errors.add(path, message)
    if not isinstance(value, list) or not value:
        errors.add((), "write one rule (a mapping) or a list of rules, as under rules: in the file")
        raise RuleTextInvalid(errors.problems())
    rules = _rules(errors, value, set(source_names))
    if errors.entries:
        raise RuleTextInvalid(errors.problems())
    return RulesFromText(rules, value)


def rule_texts(rules_text: str) -> dict[str, str]:
    """Each rule of the file's ``rules`` section as written (comments kept), by name.

    Each is a one-item list (``- name: ...``), ready to edit and to load again.
    """
    try:
        loaded = load_yaml_with_lines(rules_text)
    except YamlSyntaxError:
        return {}
    items = loaded.value if isinstance(loaded.value, list) else []
    lines = rules_text.splitlines()
    starts = [loaded.lines[(index,)] for index in range(len(items))]
    # Items sharing a line are written in flow style: those are dumped again, comments lost.
    flow = len(set(starts)) < len(starts)
    found: dict[str, str] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        if flow:
            found[item["name"]] = yaml.safe_dump([item], sort_keys=False)
            continue
        end = starts[index + 1] - 1 if index + 1 < len(items) else len(lines)
        block_lines = lines[starts[index] - 1 : end]
        while block_lines and block_lines[-1].strip()[:1] in ("", "#"):
            block_lines.pop()  # blank lines and the comments above the next rule
        block = "\n".join(block_lines).rstrip()
        found[item["name"]] = textwrap.dedent(block) + "\n"
    return found
