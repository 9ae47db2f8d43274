"""Column types that behave the same on SQLite and PostgreSQL, and values read from rows."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id(prefix: str) -> str:
    """A time-sortable id: prefix, 48 bits of milliseconds and 80 random bits, base 32."""
    number = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[number & 31])
        number >>= 5
    return prefix + "".join(reversed(chars))


@dataclass(frozen=True)
class StoredRequest:
    """An event row's request as kept: the body byte for byte, stored headers, Content-Type.

    Read with the normalised event, whose ``raw`` is rebuilt from it (``bridge.sources.stored``).
    """

    body: bytes
    headers: dict[str, str]
    content_type: str

    @classmethod
    def of(cls, body: Any, headers: Any, content_type: str | None) -> StoredRequest:
        """From the columns as a driver returns them (PostgreSQL's bytea may be a memoryview)."""
        return cls(bytes(body or b""), dict(headers or {}), content_type or "")
