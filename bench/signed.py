"""Signed Typeform deliveries, each with its own event id (so none is a duplicate)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from functools import cache
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "samples" / "typeform.json"
SECRET = "bench-typeform-secret"
SOURCE = "typeform-form"


@cache
def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text())
    return loaded


def body_for(tag: str, number: int) -> bytes:
    """The sample Typeform delivery as compact JSON, made unique by ``tag`` and ``number``."""
    payload = copy.deepcopy(_sample())
    event_id = f"{tag}-{number}"
    payload["event_id"] = event_id
    response = payload["form_response"]
    response["token"] = event_id
    for answer in response["answers"]:
        if answer["type"] == "email":
            answer["email"] = f"guest.{tag}.{number}@example.org"
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    """The ``Typeform-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Request headers of a signed delivery."""
    return {"Content-Type": "application/json", "Typeform-Signature": signature(body, secret)}


def event_id_of(body: bytes) -> str:
    """The Typeform event id inside a body made by :func:`body_for`."""
    return str(json.loads(body)["event_id"])


def write_wrk_file(path: Path, tag: str, count: int) -> Path:
    """``count`` signed bodies for wrk's Lua script: one ``signature<TAB>body`` per line."""
    with path.open("wb") as out:
        for number in range(count):
            body = body_for(tag, number)
            out.write(signature(body).encode() + b"\t" + body + b"\n")
    return path
