"""The YAML loader: lines of keys and items, YAML 1.1 surprises switched off, syntax errors."""

from __future__ import annotations

import pytest

from bridge.config.yaml_lines import YamlSyntaxError, load_yaml_with_lines

TEXT = """\
top:
  on: {source: web}
  country: NO
  start: 17:00
  day: 2025-12-25
  flag: true
  answer: yes
  count: 3
items:
  - first
  -
    nested: 1
"""


def test_values_are_plain_json_types_without_yaml_11_surprises() -> None:
    loaded = load_yaml_with_lines(TEXT)
    assert loaded.value["top"] == {
        "on": {"source": "web"},
        "country": "NO",
        "start": "17:00",
        "day": "2025-12-25",
        "flag": True,
        "answer": "yes",
        "count": 3,
    }


def test_every_key_and_item_has_its_line() -> None:
    loaded = load_yaml_with_lines(TEXT)
    assert loaded.lines[("top",)] == 1
    assert loaded.lines[("top", "on")] == 2
    assert loaded.lines[("top", "on", "source")] == 2
    assert loaded.lines[("top", "count")] == 8
    assert loaded.lines[("items", 0)] == 10
    assert loaded.lines[("items", 1, "nested")] == 12
    # A path that does not exist falls back to its nearest ancestor.
    assert loaded.line_of(("top", "missing", "deeper")) == 1
    assert loaded.line_of(("items", 1, "other")) == 12  # the item starts where its content does


def test_duplicate_keys_are_problems_not_silent_overwrites() -> None:
    loaded = load_yaml_with_lines("a: 1\nb: 2\na: 3\n")
    assert loaded.problems == [(("a",), "duplicate key (again on line 3)")]


def test_merge_keys_are_resolved() -> None:
    loaded = load_yaml_with_lines("base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\n")
    assert loaded.value["child"] == {"x": 1, "y": 2}


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml_with_lines("a: 1\nb: [unclosed\nc: 3\n")
    assert caught.value.line >= 2
    assert caught.value.message.startswith("invalid YAML")


def test_section_text_is_the_section_as_written() -> None:
    text = "a: 1\nrules:\n  # a comment\n  - name: x\n    due: soon\nafter: 2\n"
    loaded = load_yaml_with_lines(text)
    assert loaded.section_text("rules") == "  - name: x\n    due: soon\n"
    assert loaded.section_text("absent") == ""


def test_hook_transforms_strings_and_reports_failures_by_path() -> None:
    def hook(path, value):
        if value == "bad":
            raise ValueError("no good")
        return value.upper()

    loaded = load_yaml_with_lines("a: [x, bad]\nb: 1\n", hook)
    assert loaded.value == {"a": ["X", "bad"], "b": 1}
    assert loaded.problems == [(("a", 1), "no good")]
