"""Every log line reads back as JSON, whatever a record carries; ids and times stay as they are."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.logs import JsonFormatter, Redactor, redact_patterns

SECRET = "hunter2-secret-value"
FORMATTER = JsonFormatter(Redactor([SECRET]))

# Text with anything in it: control characters, quotes, backslashes, lone surrogates.
TEXT = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(
    ["127.0.0.1", "123456789012", "1234567", "+61 400 987 654", "a@b.co", '"', "\\", "\ud800"]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
KEYS = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)


def line_for(msg: str, extras: dict[str, Any]) -> str:
    record = logging.LogRecord("bridge.test", logging.INFO, __file__, 1, msg, (), None)
    for key, value in extras.items():
        if not hasattr(record, key):
            setattr(record, key, value)
    return FORMATTER.format(record)


@settings(max_examples=300, deadline=None)
@given(msg=TEXT, extras=st.dictionaries(KEYS, VALUES, max_size=5))
def test_every_line_is_one_json_object(msg: str, extras: dict[str, Any]) -> None:
    line = line_for(msg, extras)
    assert "\n" not in line and "\r" not in line
    parsed = json.loads(line)
    line.encode("utf-8")  # writable to stdout: no lone surrogate left unescaped
    assert parsed["logger"] == "bridge.test"
    for key, value in extras.items():
        if isinstance(value, int) and key in parsed and not key.endswith(("phone", "token")):
            # Numbers are ids, counts and durations: never rewritten.
            assert parsed[key] == value or parsed[key] == "[redacted]"


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(st.characters(codec="utf-8"), max_size=20),
    after=st.text(st.characters(codec="utf-8"), max_size=20),
    sensitive=st.sampled_from(
        ["jane.quietly@example.org", "+61 400 987 654", "(02) 9999 1234", "0400987654", SECRET]
    ),
)
def test_sensitive_values_never_survive_inside_any_text(
    before: str, after: str, sensitive: str
) -> None:
    text = f"{before} {sensitive} {after}"
    line = line_for(text, {"detail": {"note": text, "list": [text]}})
    assert sensitive not in line
    assert sensitive not in json.dumps(json.loads(line), ensure_ascii=False)


@pytest.mark.parametrize(
    ("extras", "kept"),
    [
        ({"job": 1234567}, {"job": 1234567}),
        ({"event_id": "ev_01HZX4Q9A1234567890"}, {"event_id": "ev_01HZX4Q9A1234567890"}),
        ({"remote_addr": "127.0.0.1"}, {"remote_addr": "127.0.0.1"}),
        ({"remote_addr": "203.0.113.254"}, {"remote_addr": "203.0.113.254"}),
        ({"account": "123456789012"}, {"account": "123456789012"}),
        (
            {"topic": "arn:aws:sns:ap-southeast-2:123456789012:ivvy"},
            {"topic": "arn:aws:sns:ap-southeast-2:123456789012:ivvy"},
        ),
        (
            {"run_at": "2026-11-28 01:14:50.350123+00:00"},
            {"run_at": "2026-11-28 01:14:50.350123+00:00"},
        ),
        ({"duration_ms": 1234567.25}, {"duration_ms": 1234567.25}),
        (
            {"uuid": "550e8400-e29b-41d4-a716-446655440000"},
            {"uuid": "550e8400-e29b-41d4-a716-446655440000"},
        ),
        ({"phone": 61400987654}, {"phone": "[redacted]"}),
        ({"note": "ring 0400 987 654"}, {"note": "ring [phone]"}),
    ],
)
def test_ids_times_and_addresses_are_left_alone(
    extras: dict[str, Any], kept: dict[str, Any]
) -> None:
    parsed = json.loads(line_for("job 1234567 from 127.0.0.1 at 2026-12-06T04:29:45Z", extras))
    assert parsed["msg"] == "job 1234567 from 127.0.0.1 at 2026-12-06T04:29:45Z"
    assert {key: parsed[key] for key in kept} == kept


def test_a_record_that_breaks_no_line_before_encoding_never_breaks_one_after() -> None:
    """The case the issue found: the phone pattern ran on the encoded line."""
    assert json.loads(line_for("claimed", {"job": 1234567}))["job"] == 1234567


def redacted_the_long_way(text: str) -> str:
    """What Redactor gave before its quick check: the three patterns always applied."""
    return redact_patterns(text.replace(SECRET, "[secret]"))


# Text built from the pieces the patterns look for, so that near-misses are common:
# digit runs around the 7-digit edge, separators, prefixes in any case, an @.
PIECES = st.lists(
    st.sampled_from(
        [
            *("0", "4", "9", "12", "123", "1234", " ", "-", "(", ")", "+", ".", ":", "/", "_"),
            *("a", "Z", "@", "x.io", "sha256=", "SHA1=", "v1,", "v1=", "IWS k:", "whsec_"),
            *("Signature: ", "abcdefgh12345678", "2026-12-07", "ev_", "\n", "é"),
        ]
    ),
    max_size=16,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=PIECES | TEXT)
def test_the_quick_check_never_skips_a_change(text: str) -> None:
    # Redactor skips the three patterns when a single search finds nothing they could
    # change; the result must be what applying all three gives.
    assert Redactor([SECRET])(text) == redacted_the_long_way(text)


@pytest.mark.parametrize(
    "text",
    [
        "+1234567",  # seven digits: the shortest phone number the pattern replaces
        "0400987654",
        "+61 400 987 654",
        "(02) 9999 1234",
        "12-34-567",
        "a@b.co",
        "sha256=abcdefgh12345678",
        "signature=abcdefgh12345678",
        "iws key:abcdefgh12345678",
        "WHSEC_abcdefgh12345678",
    ],
)
def test_the_quick_check_catches_each_kind_at_its_edge(text: str) -> None:
    assert Redactor([SECRET])(text) == redacted_the_long_way(text) != text


def test_key_redaction_is_remembered_and_bounded() -> None:
    redactor = Redactor([SECRET])
    assert redactor.key("caller_phone") == ("caller_phone", True)
    assert redactor.key("event_id") == ("event_id", False)
    for n in range(3000):  # keys from data must not grow the cache without end
        redactor.key(f"k{n}")
    assert len(redactor._keys) <= 1024
