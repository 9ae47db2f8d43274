"""A YAML loader that remembers the line of every mapping key and sequence item.

The document is composed into nodes with PyYAML's safe loader, then turned
into plain JSON-like values (dict, list, str, int, float, bool, None) while
recording, for each path such as ``("rules", 2, "task", "due")``, the line it
starts on.  Error messages use those lines to point at the file.

Three YAML 1.1 surprises are switched off, because they bite configuration
files: ``on`` / ``yes`` / ``no`` / ``off`` stay strings (only ``true`` and
``false`` are booleans, so ``country: NO`` stays Norway), ``17:00`` stays a
string instead of the base-60 number 1020, and dates stay ISO strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class YamlSyntaxError(Exception):
    """The text is not well-formed YAML; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class LoadedYaml:
    """The document's value, the line of each path, and problems found while building it."""

    value: Any
    lines: dict[Path, int] = field(default_factory=dict)
    # (path, message) pairs: duplicate keys, failed string transformations.
    problems: list[tuple[Path, str]] = field(default_factory=list)
    text: str = ""
    # Source spans (start, end offsets into text) of each mapping value, for slicing sections.
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that exists (1 for the root)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def section_text(self, key: str) -> str:
        """The top-level section's value exactly as written (indentation of the first line kept)."""
        span = self.spans.get((key,))
        if span is None:
            return ""
        start, end = span
        line_start = self.text.rfind("\n", 0, start) + 1
        return " " * (start - line_start) + self.text[start:end].rstrip() + "\n"


# Called on every string value with its path; returns the new value or raises ValueError.
StringHook = Callable[[Path, str], str]


def load_yaml_with_lines(text: str, on_string: StringHook | None = None) -> LoadedYaml:
    """Parse one YAML document; raise :class:`YamlSyntaxError` if it is not valid YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(line, f"invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(0, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    result = LoadedYaml(value=None, text=text)
    if node is None:
        return result
    builder = _Builder(loader, result, on_string)
    result.lines[()] = node.start_mark.line + 1
    result.value = builder.build(node, ())
    return result


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, result: LoadedYaml, hook: StringHook | None):
        self.loader = loader
        self.result = result
        self.hook = hook

    def build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.result.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index)))
            return items
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.result.problems.append((path, "mapping keys must be plain strings"))
                continue
            key = key_node.value
            child = (*path, key)
            if key in out:
                line = key_node.start_mark.line + 1
                self.result.problems.append((child, f"duplicate key (again on line {line})"))
            self.result.lines.setdefault(child, key_node.start_mark.line + 1)
            self.result.spans[child] = (value_node.start_mark.index, value_node.end_mark.index)
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        text = node.value
        plain = isinstance(node, yaml.ScalarNode) and node.style is None
        yaml11_bool = node.tag == _BOOL_TAG and text.lower() not in ("true", "false")
        base60 = node.tag in (_INT_TAG, _FLOAT_TAG) and ":" in text
        value: Any
        if node.tag == _TIMESTAMP_TAG or (plain and (yaml11_bool or base60)):
            value = text
        else:
            value = self.loader.construct_object(node, deep=True)
        if isinstance(value, str) and self.hook is not None:
            try:
                value = self.hook(path, value)
            except ValueError as exc:
                self.result.problems.append((path, str(exc)))
        return value
