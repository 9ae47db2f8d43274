"""sources/decoding: the one JSON decoder of every source, at its edges."""

from __future__ import annotations

import json

import pytest

from bridge.sources.decoding import MAX_DEPTH, UnsafeJSON, decode_json, safe_text


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_deepest_structure_allowed_and_one_level_more() -> None:
    assert decode_json(nested(MAX_DEPTH)) is not None
    with pytest.raises(UnsafeJSON, match=f"nested more than {MAX_DEPTH} levels"):
        decode_json(nested(MAX_DEPTH + 1))
    with pytest.raises(UnsafeJSON, match="nested more than"):
        decode_json(json.dumps({"a": [{"b": json.loads(nested(MAX_DEPTH - 1))}]}))


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"message": "[" * 500, "list": ["{" * 500]})
    assert decode_json(text)["message"] == "[" * 500


def test_beyond_the_recursion_limit_is_too_deep_not_a_crash() -> None:
    with pytest.raises(UnsafeJSON, match="nested more than") as refused:
        decode_json(nested(100_000).encode())
    assert not refused.value.not_json


def test_unsafe_text_is_replaced_in_values_and_keys() -> None:
    decoded = decode_json(b'{"a\\u0000": ["\\ud83d", "ok \\ud83d\\ude00", "\\\\u0000"]}')
    assert decoded == {"a\ufffd": ["\ufffd", "ok \U0001f600", "\\u0000"]}
    assert safe_text("x\x00\udfff") == "x\ufffd\ufffd"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"a": NaN}', "holds NaN"),
        (b"[-Infinity]", "holds -Infinity"),
        (b"[1e309]", "number too large"),
        (b"[" + b"9" * 5000 + b"]", "number too large"),
        (b"\xff[]", "not UTF-8"),
        (b"{", "is not valid JSON"),
    ],
)
def test_what_cannot_be_carried_is_refused_with_a_reason(text: bytes, reason: str) -> None:
    with pytest.raises(UnsafeJSON, match=reason):
        decode_json(text, "the body")


def test_a_utf8_bom_is_allowed() -> None:
    assert decode_json(b'\xef\xbb\xbf{"a": 1.5}') == {"a": 1.5}
