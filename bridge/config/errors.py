"""Configuration errors: every one names the file, the line and the path inside it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bridge.config.yaml_lines import LoadedYaml, Path


class ConfigError(Exception):
    """The configuration cannot be used.  ``errors`` holds one ``file:line path: message`` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def format_path(path: Path) -> str:
    """``("rules", 2, "task", "due")`` -> ``rules[2].task.due``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def flatten_messages(messages: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """marshmallow's nested ``messages`` as (path, message) pairs; ``_schema`` keys vanish."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            child = path if key in ("_schema", "_field") else (*path, _path_part(key))
            yield from flatten_messages(value, child)
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from flatten_messages(item, path)
    else:
        yield path, str(messages)


def _path_part(key: Any) -> str | int:
    if isinstance(key, int):
        return key
    text = str(key)
    return int(text) if text.isdigit() else text


class ErrorCollector:
    """Gathers errors against one loaded file, hiding every value read from the environment."""

    def __init__(self, filename: str, loaded: LoadedYaml | None, hidden: Iterable[str] = ()):
        self.filename = filename
        self.loaded = loaded
        # Longest first, so a secret containing another is hidden whole.
        self.hidden = sorted((h for h in hidden if len(h) >= 3), key=len, reverse=True)
        self.entries: list[tuple[int, str]] = []

    def add(self, path: Path, message: str) -> None:
        """Record one error at ``path``."""
        line = self.loaded.line_of(path) if self.loaded is not None else 0
        where = f"{self.filename}:{line}" if line else self.filename
        shown = format_path(path)
        text = f"{where} {shown}: {message}" if shown else f"{where}: {message}"
        for secret in self.hidden:
            text = text.replace(secret, "***")
        self.entries.append((line, text))

    def add_messages(self, prefix: Path, messages: Any) -> None:
        """Record every message of a marshmallow ``ValidationError.messages`` under ``prefix``."""
        for path, message in flatten_messages(messages):
            self.add((*prefix, *path), message)

    def raise_if_any(self) -> None:
        """Raise :class:`ConfigError` with every error, in line order."""
        if self.entries:
            ordered = sorted(self.entries, key=lambda entry: entry[0])
            raise ConfigError([text for _, text in ordered])
