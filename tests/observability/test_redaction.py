"""Secrets, signatures, emails and phone numbers fed through every path never reach the logs."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import requests

from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from tests.observability.receivers import WebhookReceiver
from tests.support.configs import TOKEN, WEBSITE_RULE, write_config
from tests.support.processes import BridgeProcess, start_web, wait_for

EMAIL = "jane.quietly@example.org"
PHONE = "+61 400 987 654"
SIGNING_SECRET = "signing-secret-for-redaction-test"
SIGNED_SOURCE = """
  signed:
    type: hmac
    header: X-Signature
    prefix: "sha256="
    secret: ${SIGNING_SECRET}
"""
FAST_DEATH = """
delivery:
  max_attempts: 2
  backoff: {base_seconds: 0.1, cap_seconds: 1}
alerts:
  webhook_url: %s
  interval_seconds: 1
"""


def _sign(body: bytes) -> str:
    return hmac.new(SIGNING_SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_nothing_sensitive_reaches_the_logs(
    tmp_path: Path, sandbox: SandboxServer, bridge_env: dict[str, str]
) -> None:
    with WebhookReceiver() as alerts:
        write_config(
            tmp_path,
            ivvy_url=sandbox.url,
            rules=WEBSITE_RULE,
            extra_sources=SIGNED_SOURCE,
            delivery=FAST_DEATH % alerts.url,
        )
        env = {**bridge_env, "SIGNING_SECRET": SIGNING_SECRET}
        admin_token = env["BRIDGE_ADMIN_TOKEN"]
        admin = {"Authorization": f"Bearer {admin_token}"}
        # iVvy fails every call: the job retries, then dies, and an alert goes out.
        requests.post(f"{sandbox.url}/_sandbox/faults", json={"fail_next": 50, "status": 500})
        web, url = start_web(env, tmp_path / "web.log", workers=2)
        worker = BridgeProcess(["worker"], env, tmp_path / "worker.log")
        enquiry = {
            "id": "red-1",
            "first_name": "Jane",
            "last_name": "Quietly",
            "email": EMAIL,
            "phone": PHONE,
            "message": f"call me on {PHONE} or write to {EMAIL}",
        }
        signed_body = json.dumps({**enquiry, "id": "red-2"}).encode()
        good_signature = _sign(signed_body)
        forged_signature = _sign(b"another body")
        try:
            # Ingest: accepted (token in the query), refused, signed, forged, invalid.
            accepted = requests.post(
                f"{url}/hooks/website?token={TOKEN}",
                json=enquiry,
                headers={"X-Request-Id": EMAIL},
                timeout=10,
            )
            assert accepted.status_code == 202, accepted.text
            event_id = accepted.json()["event"]
            refused = requests.post(
                f"{url}/hooks/website",
                json=enquiry,
                headers={"X-Bridge-Token": SIGNING_SECRET, "X-Request-Id": PHONE},
                timeout=10,
            )
            assert refused.status_code == 401
            for signature, status in ((good_signature, 202), (forged_signature, 401)):
                response = requests.post(
                    f"{url}/hooks/signed",
                    data=signed_body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Signature": f"sha256={signature}",
                        "X-Request-Id": TOKEN,
                    },
                    timeout=10,
                )
                assert response.status_code == status, response.text
            invalid = requests.post(
                f"{url}/hooks/website",
                data=f"not json: {EMAIL} {PHONE}",
                headers={"X-Bridge-Token": TOKEN, "Content-Type": "application/json"},
                timeout=10,
            )
            assert invalid.status_code == 400

            # The admin API: searches, paths and previews carrying the same values.  A search
            # by email finds the event once the worker has parsed it (the door does not).
            wait_for(
                lambda: requests.get(
                    f"{url}/api/events", params={"q": EMAIL}, headers=admin, timeout=10
                ).json()["events"],
                timeout=30,
            )
            assert requests.get(f"{url}/api/events/{EMAIL}", headers=admin).status_code == 404
            preview = requests.post(
                f"{url}/api/preview",
                json={"source": "website", "payload": enquiry},
                headers={**admin, "X-Request-Id": PHONE},
                timeout=10,
            )
            assert preview.status_code == 200, preview.text
            queue = requests.get(
                f"{url}/api/queue", headers={**admin, "X-Request-Id": admin_token}, timeout=10
            )
            assert queue.status_code == 200
            wrong = {"Authorization": f"Bearer {SANDBOX_SECRET}"}
            assert requests.get(f"{url}/api/config", headers=wrong, timeout=10).status_code == 401

            # The worker: iVvy fails until the job dies; the alert carries no personal data.
            wait_for(
                lambda: (
                    requests.get(f"{url}/api/events/{event_id}", headers=admin).json()["state"]
                    == "dead"
                ),
                timeout=60,
            )
            wait_for(lambda: alerts.bodies, timeout=30)
        finally:
            worker.stop()
            web.stop()

    web_log = (tmp_path / "web.log").read_text()
    worker_log = (tmp_path / "worker.log").read_text()
    web_lines = [json.loads(line) for line in web_log.splitlines() if line.startswith("{")]
    worker_lines = [json.loads(line) for line in worker_log.splitlines() if line.startswith("{")]
    messages = {entry["msg"] for entry in web_lines}
    assert {"webhook accepted", "webhook rejected", "webhook invalid", "request"} <= messages
    assert any(entry.get("request_id") == "[email]" for entry in web_lines)
    assert any(entry["msg"] == "job dead" for entry in worker_lines)

    sensitive = {
        "email": EMAIL,
        "phone": PHONE,
        "phone digits": "400 987 654",
        "form token": TOKEN,
        "signing secret": SIGNING_SECRET,
        "signature": good_signature,
        "forged signature": forged_signature,
        "ivvy key": SANDBOX_KEY,
        "ivvy secret": SANDBOX_SECRET,
        "admin token": admin_token,
    }
    alert_text = json.dumps(alerts.bodies)
    for where, text in (("web", web_log), ("worker", worker_log), ("alert", alert_text)):
        leaks = [name for name, value in sensitive.items() if value in text]
        assert leaks == [], f"{where} log leaks: {leaks}"
