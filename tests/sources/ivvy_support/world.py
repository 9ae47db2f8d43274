"""A real HTTP server on 127.0.0.1 serving signing keys and a SubscribeURL, plus session keys."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bridge.sources.base import Accepted, Acknowledged, InboundRequest
from bridge.sources.ivvy import IvvySource
from bridge.sources.registry import build_source
from tests.support.notifier import Notifier, NotifierKeys, envelope_bytes, self_signed_certificate

TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:iVvy_Account_14_ab12_NotifCrm"
OTHER_TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:iVvy_Account_99_ff00_NotifCrm"
SNS_CERT_PATH = "/sns/SimpleNotificationService-test.pem"
IVVY_KEY_PATH = "/accounts/14/1537854341/notifcert.txt"
PKCS1_KEY_PATH = "/accounts/14/pkcs1/notifcert.txt"
CERT_KEY_PATH = "/accounts/14/cert/notifcert.txt"
CONFIRM_PATH = "/confirm"


@functools.cache
def session_keys() -> NotifierKeys:
    """RSA keys generated once per test session (the cert URL is filled in per server)."""
    return NotifierKeys.generate(
        now=datetime.now(UTC), sns_cert_url="http://unset", ivvy_key_path=IVVY_KEY_PATH
    )


@functools.cache
def stranger_keys() -> NotifierKeys:
    """A second key set, for signatures made with the wrong key."""
    return NotifierKeys.generate(
        now=datetime.now(UTC), sns_cert_url="http://unset", ivvy_key_path=IVVY_KEY_PATH
    )


class KeyServer:
    """Serves PEM files by path and a SubscribeURL; counts every request by path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.confirmations: list[str] = []  # query strings of GETs on CONFIRM_PATH
        self.confirm_status = 200
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.hits[request.path] += 1
            if request.path == CONFIRM_PATH:
                self.confirmations.append(request.query_string.decode())
        if request.path == CONFIRM_PATH:
            response = Response("<ConfirmSubscriptionResponse/>", status=self.confirm_status)
        elif request.path in self.files:
            response = Response(self.files[request.path], mimetype="text/plain")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def start(self) -> KeyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()


@dataclasses.dataclass
class World:
    """The key server, the keys it serves and helpers to build sources and deliveries."""

    server: KeyServer
    keys: NotifierKeys

    @classmethod
    def start(cls) -> World:
        server = KeyServer().start()
        keys = dataclasses.replace(session_keys(), sns_cert_url=server.url + SNS_CERT_PATH)
        server.files[SNS_CERT_PATH] = keys.sns_certificate_pem
        server.files["/ivvy" + IVVY_KEY_PATH] = keys.ivvy_public_pem()
        server.files["/ivvy" + PKCS1_KEY_PATH] = keys.ivvy_public_pem(pkcs1=True)
        server.files["/ivvy" + CERT_KEY_PATH] = self_signed_certificate(
            keys.ivvy_private_key, datetime.now(UTC)
        )
        return cls(server, keys)

    def options(self, **overrides: Any) -> dict[str, Any]:
        """Options of an ivvy source that trusts this server."""
        options: dict[str, Any] = {
            "type": "ivvy",
            "topics": [TOPIC],
            "sns_cert_url_pattern": re.escape(self.server.url) + "/",
            "signing_key_base_url": self.server.url + "/ivvy",
            "fetch_timeout": 5,
        }
        options.update(overrides)
        return options

    def source(self, **overrides: Any) -> IvvySource:
        """A fresh source (fresh key caches) built through the registry."""
        source = build_source("ivvy-hooks", self.options(**overrides))
        assert isinstance(source, IvvySource)
        return source

    def notifier(self, keys: NotifierKeys | None = None, **kwargs: Any) -> Notifier:
        kwargs.setdefault("topic_arn", TOPIC)
        kwargs.setdefault("account_id", "14")
        return Notifier(keys or self.keys, **kwargs)

    @property
    def subscribe_url(self) -> str:
        return f"{self.server.url}{CONFIRM_PATH}?Action=ConfirmSubscription&Token=abc123"

    def hits(self, path: str) -> int:
        return self.server.hits[path]


def request_for(envelope: Mapping[str, Any] | bytes) -> InboundRequest:
    """The request SNS would make for an envelope (text/plain, SNS headers)."""
    body = envelope if isinstance(envelope, bytes) else envelope_bytes(envelope)
    kind = "" if isinstance(envelope, bytes) else str(envelope.get("Type", ""))
    return InboundRequest(
        body=body,
        headers={
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": kind,
            "user-agent": "Amazon Simple Notification Service Agent",
        },
        content_type="text/plain",
    )


def deliver(
    source: IvvySource, envelope: Mapping[str, Any] | bytes, now: datetime
) -> Accepted | Acknowledged:
    """What the web layer does: verify on the raw bytes, then parse."""
    request = request_for(envelope)
    source.verify(request, now)
    return source.parse(request, now)


def with_message(envelope: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The envelope with fields of its inner iVvy message changed (the SNS layer not re-signed)."""
    message = json.loads(envelope["Message"])
    message.update(changes)
    return {**envelope, "Message": json.dumps(message)}
