"""The ready-to-paste ``curl`` that ``bridge sandbox`` prints for a source of its config.

It authenticates the way that source expects: its shared token, or a signature
over the example payload.  Senders that sign a timestamp (Calendly, Formspree)
get a line that signs at the moment it runs, with ``openssl``, so it never goes
stale.  Payloads are the examples in ``examples/payloads/``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import Config
from bridge.sources.verification import configured_values

PAYLOADS = Path("examples/payloads")
# Which example body each type can take, in the order a source is preferred.
EXAMPLE_BODIES = {
    "form": "website-enquiry.json",
    "typeform": "typeform-enquiry.json",
    "calendly": "calendly-site-visit.json",
    "formspree": "website-enquiry.json",  # Formspree posts the fields flat, as the form does
}
SIGNATURE_HEADERS = {
    "calendly": "Calendly-Webhook-Signature",
    "formspree": "Formspree-Signature",
}


@dataclass(frozen=True)
class CurlLine:
    """What to run, for which source."""

    source: str
    command: str


def _options(source: Any) -> Mapping[str, Any]:
    options: Mapping[str, Any] = source.options
    return options


def choose_source(config: Config) -> tuple[str, str] | None:
    """The first source (name, type) a curl can be printed for, by EXAMPLE_BODIES order."""
    for wanted in EXAMPLE_BODIES:
        for name in sorted(config.sources):
            source = config.sources[name]
            if source.type_name != wanted:
                continue
            options = _options(source)
            if wanted == "form" and not configured_values(options, "tokens", "token"):
                continue
            if wanted != "form" and not configured_values(options, "secrets", "secret"):
                continue
            return name, wanted
    return None


def curl_for(config: Config, web_url: str, folder: Path = PAYLOADS) -> CurlLine | None:
    """The curl line for the preferred source, or None when no source type is one we can sign."""
    chosen = choose_source(config)
    if chosen is None:
        return None
    name, kind = chosen
    options = _options(config.sources[name])
    body_path = folder / EXAMPLE_BODIES[kind]
    url = shlex.quote(f"{web_url}/hooks/{name}")
    data = f"--data-binary @{shlex.quote(str(body_path))}"
    json_type = "-H 'Content-Type: application/json'"
    if kind == "form":
        token = configured_values(options, "tokens", "token")[0]
        header = shlex.quote(f"X-Bridge-Token: {token}")
        return CurlLine(name, f"curl -sS -X POST {url} -H {header} \\\n     {json_type} {data}")
    secret = configured_values(options, "secrets", "secret")[0]
    if kind == "typeform":
        digest = hmac.new(secret.encode(), body_path.read_bytes(), hashlib.sha256).digest()
        header = shlex.quote(f"Typeform-Signature: sha256={base64.b64encode(digest).decode()}")
        return CurlLine(name, f"curl -sS -X POST {url} -H {header} \\\n     {json_type} {data}")
    # t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, computed when the line runs.
    body = shlex.quote(str(body_path))
    key = shlex.quote(secret)
    sign = (
        f"t=$(date +%s); sig=$( (printf '%s.' \"$t\"; cat {body}) "
        f"| openssl dgst -sha256 -hmac {key} | sed 's/^.* //')"
    )
    header = f'"{SIGNATURE_HEADERS[kind]}: t=$t,v1=$sig"'
    return CurlLine(
        name, f"{sign}; \\\n  curl -sS -X POST {url} -H {header} \\\n     {json_type} {data}"
    )
