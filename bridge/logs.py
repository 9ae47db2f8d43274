"""JSON logs on stdout, one object a line, with secrets, emails and phone numbers redacted."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A candidate phone number: digits with the separators people write them with.  It
# may not start inside a word, an id, a time or an address (``ev_123``, ``a-123``,
# ``10.0.0.1``), nor end inside one (``:`` after it: a time, an ARN); _phone_like() then decides.
PHONE = re.compile(r"(?<![\w\-/.])(?<!\d\.)\+?\(?\d[\d ()\-]*\d(?![\w:/]|\.\d)")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# Anything shaped like a signature or a key after a well-known prefix.
SIGNATURE = re.compile(
    r"(?i)(sha(?:1|256|512)=|v1[,=]|IWS [^:\s]+:|whsec_|signature[\"'=: ]+)[A-Za-z0-9+/=_\-]{8,}"
)
# Extras whose whole value is personal or secret, whatever it looks like (even a number).
SENSITIVE_KEYS = re.compile(r"(?i)(^|_)(phone|mobile|email|password|secret|token|signature)$")
# Whatever the three patterns above would change contains a match of this one: an email
# has an ``@``, a signature one of its prefixes, and a phone number _phone_like() replaces
# has 7 or more digits, so 7 or more characters of digits and separators between two digits.
# Most values (ids, paths, statuses) match none, and one search is cheaper than three subs.
_MAY_CHANGE = re.compile(r"@|(?i:sha(?:1|256|512)=|v1[,=]|IWS |whsec_|signature)|\d[\d ()\-]{5,}\d")

# Standard LogRecord attributes: everything else on a record came from `extra=`.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _phone_like(match: re.Match[str]) -> str:
    """``[phone]`` for a phone number; ids, dates and account numbers stay as they are.

    With a ``+`` or separators, 7 to 15 digits (E.164's longest) are a phone number,
    an ISO date is not.  A bare run of digits is an id, a count or an account number
    (AWS's are 12 digits), except a national number written as one: a leading 0 and
    9 to 11 digits (``0400987654``).
    """
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or _ISO_DATE.fullmatch(text):
        return text
    if text.startswith("+") or any(c in " ()-" for c in text):
        return "[phone]"
    return "[phone]" if text.startswith("0") and 9 <= digits <= 11 else text


def redact_patterns(text: str) -> str:
    """``text`` with every signature, email and phone number the patterns find replaced."""
    text = SIGNATURE.sub(lambda m: m.group(1) + "[redacted]", text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(_phone_like, text)


class Redactor:
    """Removes known secret values, emails, phone numbers and signatures from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        # Per extra's key: its redacted text, and whether its whole value is to be hidden.
        # Keys come from the code's own ``extra=`` names, so this stays small.
        self._keys: dict[str, tuple[str, bool]] = {}

    def __call__(self, text: str) -> str:
        """The text with every sensitive value replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        if _MAY_CHANGE.search(text) is None:
            return text  # nothing redact_patterns() could change: skip its three passes
        return redact_patterns(text)

    def value(self, value: Any, key: str = "") -> Any:
        """A log value with every string inside it redacted; its JSON shape is unchanged.

        Numbers, booleans and None are kept (ids, counts, durations) unless the key
        names something personal or secret; anything else is redacted as its text.
        """
        if key and self.key(key)[1] and value not in (None, "", True, False):
            return "[redacted]"
        if isinstance(value, str):
            return self(value)
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)  # NaN and Infinity are not JSON
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {self(str(k)): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, key) for v in value]
        return self(str(value))

    def key(self, key: str) -> tuple[str, bool]:
        """An extra's key as it is logged, and whether its value is hidden whatever it is."""
        known = self._keys.get(key)
        if known is None:
            if len(self._keys) >= 1024:  # keys made from data would otherwise pile up
                self._keys.clear()
            known = self._keys[key] = (self(key), SENSITIVE_KEYS.search(key) is not None)
        return known


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event text and the extras given."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted JSON line.

        Each value is redacted as text before the line is encoded, so a
        replacement never lands in JSON syntax (``{"job": 1234567}`` stays valid).
        """
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redactor(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[self.redactor.key(key)[0]] = self.redactor.value(value, key)
        if record.exc_info:
            entry["exc"] = self.redactor(self.formatException(record.exc_info))
        # CR/LF inside values are escaped by json.dumps, so a line stays one record.
        line = json.dumps(entry, default=str, ensure_ascii=False)
        # A lone surrogate cannot be written as UTF-8: give it as the JSON escape
        # (``\ud800``) it came in as.  Surrogates only occur inside strings.
        return line.encode("utf-8", "backslashreplace").decode("utf-8")


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
    # The JSON line carries neither the caller's file and line nor thread names, so records
    # need not collect them (the logging HOWTO's "Optimization" section names these switches);
    # finding the caller walks the stack on every record.  The switches hold for every logger
    # in the process, so the process id stays: gunicorn's own log format prints it.
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False
    if sys.version_info >= (3, 12):
        logging.logAsyncioTasks = False
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
