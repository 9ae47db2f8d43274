"""iVvy's error envelope, raised by the sandbox's checks and turned into the HTTP answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INVALID_PARAMETER = 23016
MISSING_PARAMETER = 23017
STALE_REQUEST = 23005


class ApiError(Exception):
    """A refusal in iVvy's shape; the HTTP status equals ``errorCode``."""

    def __init__(
        self,
        status: int,
        message: str,
        specific_code: int | None = None,
        additional_messages: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.specific_code = specific_code
        self.additional_messages = list(additional_messages)

    def body(self) -> dict[str, Any]:
        """``{"errorCode", "message", "specificCode", "additionalMessages"}``."""
        return error_body(self.status, self.message, self.specific_code, self.additional_messages)


def error_body(
    status: int,
    message: str,
    specific_code: int | None = None,
    additional_messages: Iterable[str] = (),
) -> dict[str, Any]:
    """iVvy's error object; ``specificCode`` is null where iVvy documents none."""
    return {
        "errorCode": status,
        "message": message,
        "specificCode": specific_code,
        "additionalMessages": list(additional_messages),
    }


def not_valid(name: str, detail: str) -> ApiError:
    """400/23016, as iVvy answers the first parameter that fails validation."""
    return ApiError(400, f"'{name}' does not validate", INVALID_PARAMETER, [detail])


def required(name: str) -> ApiError:
    """400/23017, as iVvy answers a missing required parameter."""
    return ApiError(400, f"'{name}' is required", MISSING_PARAMETER)
