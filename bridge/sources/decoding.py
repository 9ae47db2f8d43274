"""Sender text made safe once, at the door: bounded JSON, and strings every part can carry.

JSON can carry text that UTF-8 and PostgreSQL cannot: a lone surrogate (``"\\ud83d"``, half
an emoji cut by JavaScript) cannot be encoded, and a NUL (``"\\u0000"``, ``%00``) cannot be
stored in a PostgreSQL text column.  Every decoded string (keys too) has both replaced by
U+FFFD, the Unicode replacement character, so that what is stored can always be shown, searched
and sent to iVvy; the raw body is kept as it came.  Structures deeper than :data:`MAX_DEPTH`,
numbers beyond what a float or :data:`MAX_DIGITS` digits hold, and ``NaN``/``Infinity`` (which
Python's decoder accepts but JSON and PostgreSQL do not) are refused with a reason.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # far beyond any sender's payload; well inside Python's recursion limit
MAX_DIGITS = 4300  # Python's own default limit for turning digits into an int
REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
# The JSON escapes that decode to an unsafe character.  A false match (an escaped backslash
# before "u0000") only costs a walk that changes nothing.
_UNSAFE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


class UnsafeJSON(ValueError):
    """The text is not JSON the bridge can carry; the message is safe to return.

    ``not_json`` tells text that is not JSON at all from JSON that is too deep or too large.
    """

    def __init__(self, message: str, *, not_json: bool = False) -> None:
        super().__init__(message)
        self.not_json = not_json


def safe_text(text: str) -> str:
    """``text`` with every NUL and lone surrogate replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text) if _UNSAFE.search(text) else text


def safe_value(value: Any, what: str = "the body") -> Any:
    """A decoded value with every string (keys too) made safe; UnsafeJSON when too deep."""
    return _walk(value, 1, what, clean=True)


def decode_json(data: bytes | str, what: str = "the body") -> Any:
    """``data`` as JSON, made safe; :class:`UnsafeJSON` (a ValueError) says why it is refused.

    Bytes must be UTF-8 (a BOM is allowed).  ``what`` names the text in the messages
    (``the body``, ``rawRequest``, ``the Body of ContactAdded``).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnsafeJSON(f"{what} is not valid JSON (not UTF-8)", not_json=True) from None
    else:
        text = data
    try:
        value = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded_int
        )
    except RecursionError:
        raise UnsafeJSON(_too_deep(what)) from None
    except UnsafeJSON as exc:
        raise UnsafeJSON(f"{what} {exc}") from None
    except ValueError:  # JSONDecodeError
        raise UnsafeJSON(f"{what} is not valid JSON", not_json=True) from None
    deep = text.count("[") + text.count("{") > MAX_DEPTH
    unsafe = _UNSAFE_ESCAPE.search(text) is not None
    if deep or unsafe:
        value = _walk(value, 1, what, clean=unsafe)
    return value


def _no_constant(name: str) -> Any:
    raise UnsafeJSON(f"holds {name}, which JSON does not allow")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise UnsafeJSON("holds a number too large to carry")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise UnsafeJSON("holds a number too large to carry")
    return int(text)


def _too_deep(what: str) -> str:
    return f"{what} is nested more than {MAX_DEPTH} levels deep"


def _walk(value: Any, depth: int, what: str, *, clean: bool) -> Any:
    if isinstance(value, str):
        return safe_text(value) if clean else value
    if not isinstance(value, dict | list):
        return value
    if depth > MAX_DEPTH:
        raise UnsafeJSON(_too_deep(what))
    if isinstance(value, list):
        return [_walk(item, depth + 1, what, clean=clean) for item in value]
    return {
        (safe_text(key) if clean else key): _walk(item, depth + 1, what, clean=clean)
        for key, item in value.items()
    }
