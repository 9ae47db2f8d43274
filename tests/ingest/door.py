"""The bridge in this process (Flask's test client) with one source of every sender type.

``Door.send(kind, body)`` signs ``body`` exactly as that sender would and posts it to the
real app; ``Door.run_jobs()`` runs the queued jobs with a real worker against the sandbox
iVvy over HTTP.  Both share one Runtime on a real database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from bridge import create_app
from bridge.config import load_config
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.db import IDLE_PING_SECONDS
from bridge.store.tables import events, jobs
from bridge.worker import Worker
from tests.sources.ivvy_support.world import TOPIC, World
from tests.support.notifier import envelope_bytes

ADMIN = "admin-token-for-bad-input"
TOKEN = "form-token-for-bad-input"
SECRET = "a-sender-secret-for-bad-input"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-key-24b").decode()

# Every sender type, by the name of its source in the config below.
SENDERS = (
    "form",
    "typeform",
    "tally",
    "jotform",
    "webflow",
    "calendly",
    "formspree",
    "standard-webhooks",
    "hmac",
    "ivvy",
)


def config_text(ivvy_url: str, world: World) -> str:
    pattern = re.escape(world.server.url) + "/"
    sources = f"""
  form:
    type: form
    token: {TOKEN}
  jotform:
    type: jotform
    token: {TOKEN}
  hmac:
    type: hmac
    header: X-FS-Signature
    prefix: "sha256="
    secret: {SECRET}
  standard-webhooks:
    type: standard-webhooks
    secret: {WHSEC}
  ivvy:
    type: ivvy
    topics: ['{TOPIC}']
    sns_cert_url_pattern: '{pattern}'
    signing_key_base_url: {world.server.url}/ivvy
"""
    for name in ("typeform", "tally", "webflow", "calendly", "formspree"):
        sources += f"  {name}:\n    type: {name}\n    secret: {SECRET}\n"
    # One rule per source, on a company of the sandbox's seed, nobody assigned: every text the
    # sender controls (common fields, kind, external id) ends up in the task sent to iVvy.
    rules = "".join(
        f"""
  - name: {name}-task
    on: {{source: {name}}}
    company: {{id: 1}}
    task:
      name: "Follow up {{{{ first_name }}}} {{{{ last_name }}}}"
      description: "{{{{ kind }}}} {{{{ external_id }}}} {{{{ email }}}} {{{{ phone }}}} \\
        {{{{ message }}}}"
      due: "+1 day at 09:00"
"""
        for name in SENDERS
    )
    return f"""
ivvy:
  base_url: {ivvy_url}
  key: {SANDBOX_KEY}
  secret: {SANDBOX_SECRET}
  timezone: Australia/Sydney
sources:
{sources}
rules:
{rules}
"""


def _mac(body: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(SECRET.encode(), body, algorithm).digest()


def _t_v1(header: str, body: bytes, now: int) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return {header: f"t={now},v1={signature}"}


def signed_headers(kind: str, body: bytes, now: datetime) -> dict[str, str]:
    """The authentication headers ``kind``'s sender puts on ``body`` (ivvy signs inside)."""
    ts = int(now.timestamp())
    if kind in ("form", "jotform"):
        return {"X-Bridge-Token": TOKEN}
    if kind == "typeform":
        return {"Typeform-Signature": "sha256=" + base64.b64encode(_mac(body)).decode()}
    if kind == "tally":
        return {"Tally-Signature": base64.b64encode(_mac(body)).decode()}
    if kind == "webflow":
        millis = str(ts * 1000)
        signature = hmac.new(SECRET.encode(), millis.encode() + b":" + body, "sha256").hexdigest()
        return {"X-Webflow-Timestamp": millis, "X-Webflow-Signature": signature}
    if kind == "calendly":
        return _t_v1("Calendly-Webhook-Signature", body, ts)
    if kind == "formspree":
        return _t_v1("Formspree-Signature", body, ts)
    if kind == "standard-webhooks":
        # As the specification (and the standardwebhooks library) signs, but on any bytes:
        # the library takes the body as text, which a non-UTF-8 body is not.
        msg_id = "msg_" + uuid.uuid4().hex
        key = base64.b64decode(WHSEC.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        signature = "v1," + base64.b64encode(mac).decode()
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}
    if kind == "hmac":
        return {"X-FS-Signature": "sha256=" + _mac(body).hex()}
    raise ValueError(f"no signer for {kind}")


@dataclass
class Door:
    """The app, its test client, a worker on the same runtime, and the sandbox."""

    app: Flask
    runtime: Runtime
    world: World
    sandbox: SandboxServer
    client: FlaskClient = field(init=False)
    worker: Worker = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        self.worker = Worker(self.runtime)

    def post(
        self, source: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> TestResponse:
        """POST ``body`` to ``/hooks/<source>`` as it is, with these headers."""
        return self.client.post(
            f"/hooks/{source}",
            data=body,
            headers={"Content-Type": content_type, **(headers or {})},
        )

    def send(self, kind: str, body: bytes, content_type: str = "application/json") -> TestResponse:
        """``body`` signed by ``kind``'s sender; for ``ivvy``, ``body`` is the iVvy Body."""
        now = datetime.now(UTC)
        if kind == "ivvy":
            return self.send_ivvy("ContactAdded", body.decode("utf-8", "surrogatepass"))
        return self.post(kind, body, content_type, signed_headers(kind, body, now))

    def send_ivvy(self, subject: str, body_text: str) -> TestResponse:
        """A notification whose Body is ``body_text``, signed at both layers."""
        envelope = self.world.notifier().notification(subject, body_text, now=datetime.now(UTC))
        return self.post(
            "ivvy",
            envelope_bytes(envelope),
            "text/plain; charset=UTF-8",
            {"x-amz-sns-message-type": "Notification"},
        )

    def admin(self, path: str) -> TestResponse:
        """GET an admin API route (bearer token) or status page (Basic) with the admin token."""
        if path.startswith("/api/"):
            return self.client.get(path, headers={"Authorization": f"Bearer {ADMIN}"})
        basic = base64.b64encode(f"admin:{ADMIN}".encode()).decode()
        return self.client.get(path, headers={"Authorization": f"Basic {basic}"})

    def run_jobs(self) -> int:
        """Run every due job with the worker, against the sandbox."""
        return self.worker.run_pending()

    def event(self, event_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).one()
        return dict(row._mapping)

    def job(self, event_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.event_id == event_id)).one()
        return dict(row._mapping)

    def tasks(self) -> list[dict[str, Any]]:
        """The tasks the sandbox iVvy holds, oldest first."""
        response = requests.get(self.sandbox.url + "/_sandbox/tasks", timeout=10)
        response.raise_for_status()
        return list(response.json())


@contextmanager
def open_door(
    directory: Path, database_url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS
) -> Iterator[Door]:
    """A Door on a migrated database, with its own key server and sandbox iVvy.

    ``idle_ping_seconds``: the runtime's (PostgreSQL pings a pooled connection idle longer).
    """
    world = World.start()
    try:
        with SandboxServer() as sandbox:
            path = directory / "bridge.yaml"
            path.write_text(config_text(sandbox.url, world))
            settings = Settings(
                database_url=database_url,
                config_path=str(path),
                admin_token=ADMIN,
                max_body_bytes=256 * 1024,  # the default
                log_level="WARNING",
            )
            runtime = Runtime(
                settings=settings,
                config=load_config(str(path)),
                idle_ping_seconds=idle_ping_seconds,
            )
            door = Door(create_app(runtime=runtime), runtime, world, sandbox)
            try:
                yield door
            finally:
                runtime.database.dispose()
    finally:
        world.server.stop()
