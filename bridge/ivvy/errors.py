"""iVvy failures as one exception type that says whether trying again can help.

The job queue decides retries from ``IvvyError.retryable``, ``retry_after`` and
``maybe_committed`` alone. ``str(error)`` holds only codes and iVvy's own (validator)
messages: never request bodies, e-mail addresses, keys or signatures.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

STALE_REQUEST = 23005
# Codes that stay wrong however often they are sent (validation, missing records, task rules).
PERMANENT_SPECIFIC_CODES = frozenset(
    {23016, 23017, 24096, 24215, 24216, 24218, *range(24389, 24397)}
)
READ_ACTIONS_PREFIX = "get"


def is_retryable(http_status: int | None, specific_code: int | None) -> bool:
    """Whether the same call may succeed later: stale (re-sign), 429 and 5xx are; the rest not.

    ``http_status`` is iVvy's ``errorCode`` when the body had one, else the HTTP status;
    ``None`` means no answer at all (transport failure), which is retryable.
    """
    if specific_code == STALE_REQUEST:
        return True
    if specific_code in PERMANENT_SPECIFIC_CODES:
        return False
    if http_status is None:
        return True
    return http_status == 429 or 500 <= http_status <= 599


def is_write_action(action: str) -> bool:
    """Whether an action may change data in iVvy (anything but ``get…`` and ``ping``)."""
    return not (action.startswith(READ_ACTIONS_PREFIX) or action == "ping")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class IvvyError(Exception):
    """A failed iVvy call, with iVvy's codes and a verdict on retrying."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        error_code: int | None = None,
        specific_code: int | None = None,
        additional_messages: Iterable[str] = (),
        retryable: bool | None = None,
        retry_after: float | None = None,
        maybe_committed: bool = False,
        namespace: str | None = None,
        action: str | None = None,
    ) -> None:
        self.message = message
        self.http_status = http_status
        self.error_code = error_code
        self.specific_code = specific_code
        self.additional_messages = [str(m) for m in additional_messages]
        status = error_code if error_code is not None else http_status
        self.retryable = is_retryable(status, specific_code) if retryable is None else retryable
        self.retry_after = retry_after
        self.maybe_committed = maybe_committed
        self.namespace = namespace
        self.action = action
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"iVvy {self.namespace}?action={self.action}" if self.action else "iVvy"
        codes = [
            f"{label} {value}"
            for label, value in (
                ("HTTP", self.http_status),
                ("errorCode", self.error_code),
                ("specificCode", self.specific_code),
            )
            if value is not None
        ]
        text = f"{where}: {self.message}"
        if codes:
            text += f" ({', '.join(codes)})"
        if self.additional_messages:
            text += ": " + "; ".join(self.additional_messages)
        return text

    def details(self) -> dict[str, Any]:
        """The safe fields as a JSON-ready dict (for job outcomes and the attempt log)."""
        return {
            "namespace": self.namespace,
            "action": self.action,
            "http_status": self.http_status,
            "error_code": self.error_code,
            "specific_code": self.specific_code,
            "message": self.message,
            "additional_messages": list(self.additional_messages),
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "maybe_committed": self.maybe_committed,
        }


class IvvyTransportError(IvvyError):
    """No HTTP answer at all: a timeout or a connection failure. Always retryable."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        maybe_committed: bool,
        namespace: str | None = None,
        action: str | None = None,
    ) -> None:
        self.kind = kind
        super().__init__(
            message,
            retryable=True,
            maybe_committed=maybe_committed,
            namespace=namespace,
            action=action,
        )


def int_or_none(value: Any) -> int | None:
    """A code in an iVvy answer as an int (iVvy sends some as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # ASCII digits only: "²".isdigit() is true, and int() refuses it.
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def error_from_body(
    body: dict[str, Any],
    *,
    http_status: int,
    retry_after: float | None = None,
    namespace: str | None = None,
    action: str | None = None,
) -> IvvyError:
    """An IvvyError from iVvy's error object ``{"errorCode", "message", "specificCode", ...}``."""
    error_code = int_or_none(body.get("errorCode"))
    specific_code = int_or_none(body.get("specificCode"))
    extra = body.get("additionalMessages")
    additional = [str(m) for m in extra] if isinstance(extra, list) else []
    message = body.get("message")
    status = error_code if error_code is not None else http_status
    retryable = is_retryable(status, specific_code)
    write = action is not None and is_write_action(action)
    return IvvyError(
        str(message) if message else "iVvy reported an error",
        http_status=http_status,
        error_code=error_code,
        specific_code=specific_code,
        additional_messages=additional,
        retryable=retryable,
        retry_after=retry_after,
        # A 5xx may be raised after the write was applied; 4xx and 429 are refusals.
        maybe_committed=write and status is not None and status >= 500,
        namespace=namespace,
        action=action,
    )
