"""What every source type implements, and the request it is handed.

A source type verifies a delivery on its exact bytes and identifies it (its dedupe key, from
the decoded body) at the door; the worker then parses the stored delivery into an
:class:`~bridge.events.Event` (a type with ``parsed_at_door`` parses at the door instead).
It knows nothing of Flask, the database or iVvy: the web layer builds an
:class:`InboundRequest` and stores what comes back.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import INCLUDE, Schema, fields

from bridge.events import Event


class VerificationFailed(Exception):
    """The delivery is not authentic.  The web layer answers 401 and never shows the reason."""


class SourceUnavailable(Exception):
    """Something the source depends on (a signing key, a certificate) cannot be fetched now.

    The web layer answers 503 so that the sender retries; nothing is stored.
    """


class PayloadInvalid(Exception):
    """The delivery is authentic but cannot be parsed; the message is safe to return (400)."""


def media_type(content_type: str) -> str:
    """A ``Content-Type`` header's media type: no parameters, lower-case (``text/plain``).

    What werkzeug's ``parse_options_header`` gives, without importing werkzeug: the worker
    reads every stored event through this and loads no werkzeug otherwise.
    """
    return content_type.partition(";")[0].strip(" \t").lower()


@dataclass(frozen=True)
class InboundRequest:
    """The parts of an HTTP request a source may look at.  Header names are lower-case."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""  # the media type without parameters, lower-case (media_type)

    def header(self, name: str) -> str | None:
        """One header's value, looked up case-insensitively."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Accepted:
    """An event to store; ``dedupe_key`` is unique per source (sender id, key path, body hash)."""

    event: Event
    dedupe_key: str


@dataclass(frozen=True)
class Identity:
    """What the door takes from a decoded body: the dedupe key, and the sender's id if any."""

    dedupe_key: str
    sender_id: str | None


@dataclass(frozen=True)
class Acknowledged:
    """A delivery answered 200 that creates no event (a subscription handshake, an echo)."""

    reason: str


class SourceOptionsSchema(Schema):
    """Options every source type accepts; each type extends this with its own."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    # A dotted path into the parsed payload whose value is the dedupe key,
    # for senders whose id the type does not know.
    dedupe_key = fields.String(load_default=None)
    # Documentation only: shown by `bridge check` and the status pages.
    description = fields.String(load_default=None)


class SourceType(ABC):
    """One kind of sender.  Instances are built once per configured source."""

    type_name: ClassVar[str]
    options_schema: ClassVar[type[Schema]] = SourceOptionsSchema
    # Accepted mimetypes; an empty set accepts any (SNS sends text/plain JSON).
    content_types: ClassVar[frozenset[str]] = frozenset({"application/json"})
    # Lower-case names of the headers that carry this type's signature or token:
    # checked once, at the door, and never stored with the event.
    credential_headers: ClassVar[frozenset[str]] = frozenset()
    # Whether the web parses a delivery before answering.  Most types only decode the body at
    # the door (``identify``) and leave the parse to the worker; a type whose parse may answer
    # the sender instead of storing an event (``Acknowledged``: a handshake, an echo) parses at
    # the door, since that answer has to be the response.
    parsed_at_door: ClassVar[bool] = False

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = dict(options)

    def unstored_headers(self) -> frozenset[str]:
        """Headers never kept with an event: this type's credentials, and any configured one."""
        configured = self.options.get("header")
        extra = {configured.lower()} if isinstance(configured, str) and configured else set()
        return self.credential_headers | extra

    @abstractmethod
    def verify(self, request: InboundRequest, now: datetime) -> None:
        """Raise :class:`VerificationFailed` unless the delivery is authentic."""

    @abstractmethod
    def parse(self, request: InboundRequest, now: datetime) -> Accepted | Acknowledged:
        """Turn a verified delivery into an event (or an acknowledgement).

        Unless the type is ``parsed_at_door``, the worker calls it on the stored request
        (``bridge.sources.stored``): without the credential headers and the query string,
        which a parse therefore must not read.
        """

    @classmethod
    @abstractmethod
    def raw_of(cls, request: InboundRequest) -> Any:
        """What :meth:`parse` keeps as the event's ``raw``: the body as this type decodes it.

        ``parse`` calls it, and so does ``bridge.sources.stored`` on the stored body and
        headers, to rebuild the ``raw`` the inbox does not store twice: it reads no option
        and nothing but the body and the ``Content-Type``.  Raises :class:`PayloadInvalid`
        (or ValueError) when the body does not decode.
        """

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        """The sender's own id of the delivery, read from ``raw`` (or a header); None if absent.

        Both ``parse`` and ``identify`` take the dedupe key through this, so the key the door
        stores is the one a parse of the same body gives.  It reads ``raw`` unvalidated: a
        missing or odd id gives None here (the body's hash is the key then), and the parse
        says what is wrong with the payload.
        """
        return None

    def identify(self, request: InboundRequest) -> Identity:
        """The dedupe key and sender's id of a verified delivery: all the door parses.

        Raises :class:`PayloadInvalid` when the body does not decode as this type's body (not
        JSON, not UTF-8, too deep...): that is still refused at the door, with a 400.
        """
        raw = self.raw_of(request)
        sender_id = self.sender_id(raw, request)
        return Identity(self.dedupe_key(raw, sender_id, request.body), sender_id)

    def dedupe_key(self, payload: Any, sender_id: str | None, body: bytes) -> str:
        """The configured key path's value, else the sender's id, else a hash of the body."""
        path = self.options.get("dedupe_key")
        if path:
            value = lookup_path(payload, path)
            if value not in (None, ""):
                return f"key:{value}"
        if sender_id:
            return f"id:{sender_id}"
        return "sha256:" + hashlib.sha256(body).hexdigest()


def text_id(value: Any) -> str | None:
    """A sender's id if it is a non-empty string (what the payload schemas require); else None."""
    return value if isinstance(value, str) and value else None


def member(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` through objects only; None where one is missing."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def lookup_path(obj: Any, path: str) -> Any:
    """Follow a dotted path (``payload.id``, ``items.0.name``) through dicts and lists."""
    current = obj
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current
