"""Sender text made safe once, at the door: bounded JSON, and strings every part can carry.

JSON can carry text that UTF-8 and PostgreSQL cannot: a lone surrogate (``"\\ud83d"``, half
an emoji cut by JavaScript) cannot be encoded, and a NUL (``"\\u0000"``, ``%00``) cannot be
stored in a PostgreSQL text column.  Every decoded string (keys too) has both replaced by
U+FFFD, the Unicode replacement character, so that what is stored can always be shown, searched
and sent to iVvy; the raw body is kept as it came.  Structures deeper than :data:`MAX_DEPTH`,
numbers beyond a float (or of more digits than Python turns into an int), and ``NaN`` or
``Infinity`` (which Python's decoder accepts but JSON and PostgreSQL do not) are refused.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # far beyond any sender's payload; well inside Python's recursion limit
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


def decode_json(data: bytes | str, what: str = "the body") -> Any:
    """``data`` as JSON, made safe; :class:`UnsafeJSON` (a ValueError) says why it is refused.

    Bytes must be UTF-8 (a BOM is allowed).  ``what`` names the text in the messages
    (``the body``, ``rawRequest``, ``the Body of ContactAdded``).  On an ordinary payload the
    checks cost a few microseconds: the walks run only when a look at the text calls for them.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnsafeJSON(f"{what} is not valid JSON (not UTF-8)", not_json=True) from None
    else:
        text = data
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise UnsafeJSON(_too_deep(what)) from None
    except UnsafeJSON as exc:
        raise UnsafeJSON(f"{what} {exc}") from None
    except json.JSONDecodeError:
        raise UnsafeJSON(f"{what} is not valid JSON", not_json=True) from None
    except ValueError:  # an int of more digits than Python converts (sys.set_int_max_str_digits)
        raise UnsafeJSON(f"{what} holds a number too large to carry") from None
    # Depth is at most the number of opening brackets: most payloads need no walk at all.
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise UnsafeJSON(_too_deep(what))
    if _UNSAFE_ESCAPE.search(text):
        value = _cleaned(value)  # no deeper than MAX_DEPTH by now
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels, looking at containers only."""
    level = [value] if type(value) is dict or type(value) is list else []
    for _ in range(limit):
        below: list[Any] = []
        for container in level:
            items = container.values() if type(container) is dict else container
            below += [item for item in items if type(item) is dict or type(item) is list]
        if not below:
            return False
        level = below
    return True


def _no_constant(name: str) -> Any:
    raise UnsafeJSON(f"holds {name}, which JSON does not allow")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise UnsafeJSON("holds a number too large to carry")
    return value


def _too_deep(what: str) -> str:
    return f"{what} is nested more than {MAX_DEPTH} levels deep"


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(key): _cleaned(item) for key, item in value.items()}
    return value
