"""``${VAR}`` in configuration strings: read from the environment, never silently empty.

``${VAR}`` is replaced by the variable's value; a variable that is not set is
an error, and so is one set to the empty string (an empty secret would
let anyone in).  ``${VAR:-fallback}`` uses ``fallback`` when ``VAR`` is unset or empty.
``$${`` writes a literal ``${``.  Any other ``$`` is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_BODY = re.compile(rf"(?P<name>{_NAME})(?::-(?P<fallback>.*))?", re.DOTALL)


class EnvironmentReader:
    """Interpolates strings against one environment and remembers what it substituted."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        # Every value taken from the environment, so error messages can hide them.
        self.substituted: set[str] = set()

    def interpolate(self, text: str) -> str:
        """``text`` with every ``${VAR}`` replaced; ValueError names the first problem."""
        if "$" not in text:
            return text
        out: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            out.append(text[pos : match.start()])
            pos = match.end()
            if match.group(0) == "$${":
                out.append("${")
                continue
            body = match.group("body")
            if body is None:
                raise ValueError("unterminated ${ (write $${ for a literal ${)")
            out.append(self._lookup(body))
        out.append(text[pos:])
        return "".join(out)

    def _lookup(self, body: str) -> str:
        match = _BODY.fullmatch(body)
        if match is None:
            raise ValueError(f"${{{body}}} is not a valid variable reference")
        name = match.group("name")
        value = self.env.get(name)
        if not value:
            fallback = match.group("fallback")
            if fallback is None:
                state = "is empty" if value == "" else "is not set"
                raise ValueError(f"environment variable {name} {state}")
            return fallback
        self.substituted.add(value)
        return value
