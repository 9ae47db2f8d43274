"""JSON logs on stdout, one object a line, with secrets, emails and phone numbers redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Seven or more digits, allowing the separators people write phone numbers with;
# ISO dates and seconds with a fraction (timestamps are everywhere) are not phone numbers.
PHONE = re.compile(
    r"(?<![\w.-])(?!\d{4}-\d\d-\d\d|\d{1,2}\.\d{3,6}(?!\d))\+?\d[\d ()\-.]{5,}\d(?![\w.])"
)
# Anything shaped like a signature or a key after a well-known prefix.
SIGNATURE = re.compile(
    r"(?i)(sha(?:1|256|512)=|v1[,=]|IWS [^:\s]+:|whsec_|signature[\"'=: ]+)[A-Za-z0-9+/=_\-]{8,}"
)

# Standard LogRecord attributes: everything else on a record came from `extra=`.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Redactor:
    """Removes known secret values, emails, phone numbers and signatures from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """The text with every sensitive value replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        text = SIGNATURE.sub(lambda m: m.group(1) + "[redacted]", text)
        text = EMAIL.sub("[email]", text)
        return PHONE.sub("[phone]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event text and the extras given."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # CR/LF inside values are escaped by json.dumps, so a line stays one record.
        return self.redactor(json.dumps(entry, default=str, ensure_ascii=False))


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a record is emitted (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        """Emit to the current standard output."""
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> Redactor:
    """Send every log record to stdout as redacted JSON; returns the redactor in use."""
    redactor = Redactor(secrets)
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter(redactor))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_bridge", False):
            root.removeHandler(existing)
    handler._bridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return redactor
