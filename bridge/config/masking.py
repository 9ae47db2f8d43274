"""Hiding secrets: which configuration keys hold them, and a JSON-safe copy with them masked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRET_NAMES = frozenset({"key", "api_key", "own_api_key", "signing_key", "client_secret"})
_SECRET_WORDS = ("secret", "token", "password", "passphrase", "credential")
# Keys whose value is a URL that is itself a credential (Slack, Teams and most chat webhooks).
_SECRET_URL_NAMES = frozenset({"webhook_url"})


def is_secret_name(name: str) -> bool:
    """Whether a configuration key with this name holds a secret."""
    lowered = name.lower()
    if lowered in _SECRET_NAMES or lowered.endswith(("api_key", "api_keys")):
        return True
    return any(word in lowered for word in _SECRET_WORDS)


def is_secret_path(path: Iterable[str | int]) -> bool:
    """Whether the value at ``path`` is a secret, judged by its last key name."""
    names = [part for part in path if isinstance(part, str)]
    return bool(names) and (is_secret_name(names[-1]) or names[-1] in _SECRET_URL_NAMES)


def mask_url(url: str, whole_path: bool = False) -> str:
    """``url`` with its password and query string (and, if asked, its path) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    path = f"/{MASK}" if whole_path and parts.path not in ("", "/") else parts.path
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: dataclasses as dicts, dates and times as ISO text, durations as seconds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def collect_secrets(value: Any, name: str = "") -> set[str]:
    """Every string held under a secret-named key anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            found |= collect_secrets(child, str(key))
    elif isinstance(value, list | tuple):
        for child in value:
            found |= collect_secrets(child, name)
    elif isinstance(value, str) and value and (is_secret_name(name) or name in _SECRET_URL_NAMES):
        found.add(value)
    return found


def mask_secrets(value: Any, also_hide: Iterable[str] = ()) -> Any:
    """A copy of JSON-like ``value`` with secrets replaced by ``***``.

    Secret-named keys are masked whole; URLs lose passwords and query strings
    (webhook URLs their path too); any other string containing one of the
    secrets (or ``also_hide``) has it cut out.
    """
    hidden = sorted(collect_secrets(value) | set(also_hide), key=len, reverse=True)
    hidden = [h for h in hidden if len(h) >= 3]
    return _mask(value, "", hidden)


def _mask(value: Any, name: str, hidden: list[str]) -> Any:
    if isinstance(value, dict):
        return {key: _mask(child, str(key), hidden) for key, child in value.items()}
    if isinstance(value, list):
        return [_mask(child, name, hidden) for child in value]
    if not isinstance(value, str):
        return value
    if name in _SECRET_URL_NAMES:
        return mask_url(value, whole_path=True)
    if is_secret_name(name):
        return MASK
    if value.startswith(("http://", "https://")):
        value = mask_url(value)
    for secret in hidden:
        value = value.replace(secret, MASK)
    return value
