"""Hypothesis strategies for what a sender could send: each sender's own payload, bent.

JSON values hold lone surrogates, NUL, odd keys, huge and non-finite numbers, long strings
and deep nesting, and are placed anywhere inside a real sample of the sender's payload (so
that parsing gets past the shape checks as often as it fails them).  Bodies are also
urlencoded pairs and arbitrary bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
BOUNDARY = "bridge-property-boundary"
# Raw JSON number text that json.dumps cannot write: placed through a marker string.
_MARK = "\x01raw:"
RAW_NUMBERS = ("1e400", "-1e400", "1e-400", "-0", "1" * 5000, "9" * 40, "NaN", "-Infinity")

ODD_TEXT = ["\x00", "\ud800", "\udfff", "\ud83d", "\ude00", "\ufffd", "\u2028", "\U0001f600", ""]
text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from([c for c in ODD_TEXT if c])),
    max_size=30,
)
long_text = st.builds(
    lambda s, n: s * n, st.sampled_from(["a", "\ud800", "é", "\x00"]), st.integers(1, 5000)
)
keys = st.one_of(text, st.sampled_from(["", "email", "id", "kind", "a.b", "__proto__", "0"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    long_text,
    st.sampled_from(RAW_NUMBERS).map(lambda raw: _MARK + raw),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


def deep(depth: int, as_object: bool) -> str:
    """A marker that :func:`dumps` writes as ``depth`` nested arrays or objects."""
    return f"{_MARK}deep:{depth}:{'o' if as_object else 'a'}"


# Written as text by dumps(): 3000 levels is more than Python's json (or hypothesis' own
# printing of an example) can build from objects.
deep_values = st.one_of(
    values,
    st.builds(deep, st.one_of(st.integers(1, 120), st.just(3000)), st.booleans()),
)
_MARKER = re.compile(r'"\\u0001raw:([^"]*)"')


def _raw_text(match: re.Match[str]) -> str:
    raw = match.group(1)
    if not raw.startswith("deep:"):
        return raw
    _, depth, shape = raw.split(":")
    opening, closing = ('{"n":', "}") if shape == "o" else ("[", "]")
    return opening * int(depth) + '"bottom"' + closing * int(depth)


def dumps(value: Any, ensure_ascii: bool = True) -> bytes:
    """JSON text as bytes; without ``ensure_ascii`` a lone surrogate becomes invalid UTF-8."""
    text = _MARKER.sub(_raw_text, json.dumps(value, ensure_ascii=ensure_ascii))
    return text.encode("utf-8", "surrogatepass")


def sample(kind: str) -> Any:
    """A real payload of ``kind``'s sender (``ivvy``: the Body of a ContactAdded)."""
    files = {
        "typeform": "typeform.json",
        "tally": "tally.json",
        "webflow": "webflow-form-submission.json",
        "calendly": "calendly-invitee-created.json",
    }
    if kind in files:
        return json.loads((SAMPLES / files[kind]).read_text())
    if kind == "ivvy":
        envelope = json.loads((SAMPLES / "ivvy-ContactAdded.constructed.json").read_text())
        return json.loads(json.loads(envelope["Message"])["Body"])
    if kind == "formspree":
        return {"form": "xqkvbnlp", "submission": {"email": "a@example.org", "message": "hi"}}
    if kind == "standard-webhooks":
        return {"type": "contact.created", "data": {"email": "a@example.org", "name": "A B"}}
    if kind == "jotform":
        return {"q3_email": "a@example.org", "q4_name": {"first": "A", "last": "B"}}
    return {"id": "f-1", "email": "a@example.org", "first_name": "Ana", "message": "hi"}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``value`` a new value could go."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(paths(inner, (*prefix, index)))
    return found


def put(document: Any, path: tuple[Any, ...], value: Any, key: str | None) -> Any:
    """A copy of ``document`` with ``value`` at ``path`` (or under a new ``key`` there)."""
    document = json.loads(json.dumps(document))
    if not path:
        return {**document, key: value} if key is not None and isinstance(document, dict) else value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if key is not None and isinstance(parent[path[-1]], dict):
        parent[path[-1]][key] = value
    else:
        parent[path[-1]] = value
    return document


@st.composite
def bent_payloads(draw: st.DrawFn, kind: str) -> Any:
    """The sender's sample with an arbitrary value put somewhere inside it."""
    base = sample(kind)
    path = draw(st.sampled_from(paths(base)))
    key = draw(st.one_of(st.none(), keys))
    return put(base, path, draw(deep_values), key)


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    """Pairs as a form body; a lone surrogate goes out as the bytes it would encode to."""
    return "&".join(
        f"{quote_plus(k, errors='surrogatepass')}={quote_plus(v, errors='surrogatepass')}"
        for k, v in pairs
    ).encode()


form_pairs = st.lists(st.tuples(keys, st.one_of(text, long_text)), max_size=6)


def multipart(fields: list[tuple[str, bytes]]) -> bytes:
    """A ``multipart/form-data`` body with these text parts."""
    out = b""
    for name, value in fields:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        out += f"--{BOUNDARY}\r\n{disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


@st.composite
def jotform_bodies(draw: st.DrawFn) -> bytes:
    """Jotform's multipart delivery: a submission id and a bent ``rawRequest``."""
    submission = draw(st.one_of(st.just("6084250982513018472"), text))
    fields = [
        ("submissionID", submission.encode("utf-8", "surrogatepass")),
        ("formID", b"243231271343446"),
        ("rawRequest", dumps(draw(bent_payloads("jotform")), draw(st.booleans()))),
    ]
    extra = draw(
        st.lists(st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True), text), max_size=3)
    )
    fields.extend((name, value.encode("utf-8", "surrogatepass")) for name, value in extra)
    return multipart(fields)
