"""Answers under stable keys, and the common fields (name, email, phone...) found in them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from bridge.events import COMMON_FIELDS, Event
from bridge.sources.base import SourceType, lookup_path

# Slugs of answer keys that name a common field; the first answer to match wins.
_GUESSES: dict[str, re.Pattern[str]] = {
    "first_name": re.compile(r"(first_?name|given_name|forename|^fname)$|(^|_)first$"),
    "last_name": re.compile(r"(last_?name|surname|family_name|^lname)$|(^|_)last$"),
    "name": re.compile(r"^(your_|contact_|full_?)?name$|(^|_)full_?name$"),
    "email": re.compile(r"(^|_)e_?mail(_address)?(_\d+)?$"),
    "phone": re.compile(r"(^|_)(phone|mobile|telephone|tel|cell)(_number|_no)?(_\d+)?$"),
    "message": re.compile(r"(^|_)(message|comments?|enquiry|inquiry|notes?)$"),
}
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

# A form's labels and keys are the same on every submission, so their slugs and
# guesses are cached; the bound keeps many forms (or odd senders) from growing it.
_CACHED_LABELS = 4096


@lru_cache(maxsize=_CACHED_LABELS)
def slugify(text: str) -> str:
    """``"What's your First Name?"`` -> ``what_s_your_first_name``; camelCase is split too."""
    text = _CAMEL.sub(r"\1_\2", text)
    return _NOT_SLUG.sub("_", text.lower()).strip("_")


@lru_cache(maxsize=_CACHED_LABELS)
def _guesses(key: str) -> tuple[str, ...]:
    """Every common field the key's slug could name, in ``_GUESSES`` order."""
    slug = slugify(key)
    return tuple(name for name, pattern in _GUESSES.items() if pattern.search(slug))


def add_answer(answers: dict[str, Any], key: str | None, value: Any) -> None:
    """Store ``value`` under ``key`` unless the key is empty or already taken."""
    if key:
        answers.setdefault(key, value)


def add_labelled(answers: dict[str, Any], key: str | None, label: str | None, value: Any) -> None:
    """Store ``value`` under the sender's key and under the slug of its label."""
    add_answer(answers, key, value)
    if label:
        add_answer(answers, slugify(label), value)


def scalar_text(value: Any) -> str | None:
    """A string or number as stripped text; None for anything else or blank."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level, keys joined with ``_`` (``customer_email``); lists kept."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def add_compound(answers: dict[str, Any], key: str, value: Any) -> None:
    """Store an answer, turning the senders' compound values into text.

    Name objects (``{first, last}``) become ``"first last"`` plus ``<key>_first`` /
    ``<key>_last``; phone objects (``{full}``) their number; Formstack's
    ``{value, field_type}`` its value; Jotform dates ``YYYY-MM-DD``; other objects
    keep their shape and add ``<key>_<part>`` for each scalar part.
    """
    if not isinstance(value, Mapping):
        add_answer(answers, key, value)
        return
    parts = {k: v for k, v in value.items() if k != "field_type"}
    if set(parts) == {"value"}:
        add_answer(answers, key, parts["value"])
    elif "first" in parts or "last" in parts:
        order = ("prefix", "first", "middle", "last", "suffix")
        add_answer(answers, key, " ".join(str(parts[p]) for p in order if parts.get(p)))
        for part in ("first", "last"):
            add_answer(answers, f"{key}_{part}", parts.get(part) or "")
    elif "full" in parts:
        add_answer(answers, key, parts["full"])
    elif {"area", "phone"} <= set(parts):
        add_answer(answers, key, f"{parts['area']} {parts['phone']}".strip())
    elif set(parts) == {"year", "month", "day"}:
        when = (parts["year"], parts["month"], parts["day"])
        add_answer(answers, key, "-".join(str(p).zfill(2) for p in when) if all(when) else "")
    else:
        add_answer(answers, key, parts)
        for part, inner in parts.items():
            if scalar_text(inner) is not None:
                add_answer(answers, f"{key}_{part}", inner)


def guess_common_fields(answers: Mapping[str, Any]) -> dict[str, str]:
    """Common fields found by the shape of the answer keys (``First Name``, ``email``...)."""
    found: dict[str, str] = {}
    for key, value in answers.items():
        text = scalar_text(value)
        if text is None:
            continue
        for name in _guesses(key):
            if name not in found:
                found[name] = text
                break
    return found


def complete_names(found: dict[str, str]) -> dict[str, str]:
    """Derive ``name`` from first + last, or first/last from ``name``, when only one side exists."""
    first, last, name = found.get("first_name"), found.get("last_name"), found.get("name")
    if not name and (first or last):
        found["name"] = " ".join(p for p in (first, last) if p)
    elif name and not first and not last:
        pieces = name.split(None, 1)
        found["first_name"] = pieces[0]
        if len(pieces) > 1:
            found["last_name"] = pieces[1]
    return found


def common_fields(
    answers: Mapping[str, Any],
    typed: Mapping[str, Any] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Guesses from the keys, overridden by the sender's types, then by the ``fields`` option."""
    found = guess_common_fields(answers)
    for name, value in (typed or {}).items():
        text = scalar_text(value)
        if text is not None:
            found[name] = text
    for name, key in (mapping or {}).items():
        value = answers[key] if key in answers else lookup_path(answers, key)
        text = scalar_text(value)
        if text is not None and name in COMMON_FIELDS:
            found[name] = text
    complete_names(found)
    return {name: found[name] for name in COMMON_FIELDS if name in found}


def make_event(
    source: SourceType,
    *,
    kind: str,
    external_id: Any,
    now: datetime,
    answers: dict[str, Any],
    raw: Any,
    typed: Mapping[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """The Event for a parsed delivery, with common fields filled from the answers."""
    return Event(
        source=source.name,
        source_type=source.type_name,
        kind=kind,
        external_id=None if external_id in (None, "") else str(external_id),
        received_at=now,
        fields=common_fields(answers, typed, source.options.get("fields")),
        answers=answers,
        data=data or {},
        raw=raw,
    )
