"""AWS SNS envelopes: signature verification, trusted addresses and the subscription handshake.

SNS signs a canonical string (``Key\\nValue\\n`` for fixed keys in order) with the key of an
X.509 certificate published at ``SigningCertURL``.  That URL, and ``SubscribeURL``, are only
ever fetched when they are ``https`` addresses on an SNS host (``sns.<region>.amazonaws.com``);
a source may replace that rule with its own pattern (tests serve certificates on 127.0.0.1).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from bridge.sources.base import Acknowledged, SourceUnavailable, VerificationFailed

if TYPE_CHECKING:
    # cryptography is imported where a signature is checked: the worker process and a web
    # with no SNS or iVvy source never load it (3 MiB of heap, BENCHMARKS.md "Memory").
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

logger = logging.getLogger(__name__)

SNS_URL_PATTERN = r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
NOTIFICATION_KEYS: tuple[str, ...] = (
    "Message",
    "MessageId",
    "Subject",
    "Timestamp",
    "TopicArn",
    "Type",
)
CONFIRMATION_KEYS: tuple[str, ...] = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
CONFIRMATION_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
# SignatureVersion -> the name of its digest in ``cryptography.hazmat.primitives.hashes``.
SIGNATURE_HASHES: dict[str, str] = {"1": "SHA1", "2": "SHA256"}
MAX_PEM_BYTES = 64 * 1024
# An RSA signature is as long as its key: 1024 to 8192 bits.
SIGNATURE_BYTES = range(128, 1025)
# SNS publishes its certificates as SimpleNotificationService-<hex>.pem on the host of the
# topic's region; an envelope whose URL says otherwise is refused before anything is fetched.
_SNS_CERT_URL = re.compile(
    r"https://sns\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/SimpleNotificationService-[0-9a-f]+\.pem"
)
_TOPIC_ARN = re.compile(r"arn:aws(-[a-z]+)*:sns:(?P<region>[a-z0-9-]+):\d{12}:[\w-]{1,256}")
# Answers that say a certificate is not there (see KeyCache.refuse_missing).
_MISSING = frozenset({401, 403, 404, 410})


class UpstreamUnavailable(SourceUnavailable):
    """A certificate, key or SubscribeURL could not be fetched now; answer 5xx so SNS retries."""


def canonical_string(envelope: Mapping[str, Any]) -> bytes:
    """The bytes SNS signs for this envelope's ``Type``; ValueError if a part is missing."""
    kind = envelope.get("Type")
    if kind == "Notification":
        keys = NOTIFICATION_KEYS
    elif kind in CONFIRMATION_TYPES:
        keys = CONFIRMATION_KEYS
    else:
        raise ValueError("unknown SNS message type")
    parts = []
    for key in keys:
        value = envelope.get(key)
        if key == "Subject" and value is None:
            continue  # only signed when present; iVvy sends none
        if not isinstance(value, str):
            raise ValueError(f"SNS field {key} is missing")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode("utf-8")


def url_is_trusted(url: object, pattern: re.Pattern[str]) -> bool:
    """True for a URL the pattern accepts (anchored at the start) without credentials or tricks."""
    if not isinstance(url, str) or any(ch.isspace() or ch == "\\" for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    return pattern.match(url) is not None


def cert_url_fits_topic(url: str, topic_arn: str) -> bool:
    """Whether an SNS certificate URL has SNS's file name and the topic's region."""
    cert = _SNS_CERT_URL.fullmatch(url)
    topic = _TOPIC_ARN.fullmatch(topic_arn)
    return bool(cert and topic and cert.group("region") == topic.group("region"))


@dataclass(frozen=True)
class SigningKey:
    """An RSA public key, with the validity window of the certificate it came from (if any)."""

    public_key: rsa.RSAPublicKey
    not_before: datetime | None = None
    not_after: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """Whether ``now`` lies inside the certificate's validity (always true for bare keys)."""
        if self.not_before is not None and now < self.not_before:
            return False
        return not (self.not_after is not None and now > self.not_after)

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
        """RSA PKCS#1 v1.5 verification; False instead of an exception."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            return False
        return True


def signature_algorithm(version: object) -> hashes.HashAlgorithm | None:
    """The digest SNS signs with for a ``SignatureVersion``; None for a version it has not."""
    name = SIGNATURE_HASHES.get(str(version))
    if name is None:
        return None
    from cryptography.hazmat.primitives import hashes

    algorithm: hashes.HashAlgorithm = getattr(hashes, name)()
    return algorithm


def load_signing_key(pem: bytes) -> SigningKey:
    """An RSA key from a certificate, ``PUBLIC KEY`` or ``RSA PUBLIC KEY`` PEM; ValueError else."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if b"-----BEGIN CERTIFICATE-----" in pem:
        cert = x509.load_pem_x509_certificate(pem)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("the certificate's key is not RSA")
        return SigningKey(key, cert.not_valid_before_utc, cert.not_valid_after_utc)
    loaded = serialization.load_pem_public_key(pem)
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValueError("the key is not RSA")
    return SigningKey(loaded)


class KeyCache:
    """Signing keys by URL: fetched once (timeout, no redirects, size-capped), LRU-bounded."""

    def __init__(self, timeout: float, max_entries: int = 32, refuse_missing: bool = False) -> None:
        self.timeout = timeout
        # SNS certificates are published before they sign anything: one that is not
        # there (404) never will be, so that is a refusal, not a reason to retry.
        self.refuse_missing = refuse_missing
        self.max_entries = max_entries
        self._keys: OrderedDict[str, SigningKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> SigningKey:
        """The key at ``url``; raises UpstreamUnavailable or VerificationFailed."""
        with self._lock:
            cached = self._keys.get(url)
            if cached is not None:
                self._keys.move_to_end(url)
                return cached
        # Fetched outside the lock: a race costs a duplicate fetch, never a stalled request.
        key = self._fetch(url)
        with self._lock:
            self._keys[url] = key
            self._keys.move_to_end(url)
            while len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)
        return key

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def _fetch(self, url: str) -> SigningKey:
        try:
            with requests.get(
                url, timeout=self.timeout, allow_redirects=False, stream=True
            ) as response:
                if self.refuse_missing and response.status_code in _MISSING:
                    raise VerificationFailed(f"signing key fetch answered {response.status_code}")
                if response.status_code != 200:
                    raise UpstreamUnavailable(f"signing key fetch answered {response.status_code}")
                pem = b""
                for chunk in response.iter_content(8192):
                    pem += chunk
                    if len(pem) > MAX_PEM_BYTES:
                        raise VerificationFailed("the signing key document is too large")
        except requests.RequestException as exc:
            raise UpstreamUnavailable("could not fetch a signing key") from exc
        try:
            return load_signing_key(pem)
        except ValueError as exc:
            raise VerificationFailed("the signing key is not an RSA PEM") from exc


class SnsVerifier:
    """Checks an SNS envelope: allowed topic, trusted certificate URL, valid signature."""

    def __init__(
        self,
        topics: Iterable[str],
        keys: KeyCache,
        url_pattern: str | None = None,
        max_age: timedelta | None = None,
    ) -> None:
        self.topics = frozenset(topics)
        self.keys = keys
        self.url_pattern = re.compile(url_pattern or SNS_URL_PATTERN)
        self.max_age = max_age

    def verify(self, envelope: Mapping[str, Any], now: datetime) -> None:
        """Raise VerificationFailed unless SNS signed this envelope for an allowed topic."""
        cert_url, data, signature, algorithm = self.precheck(envelope, now)
        key = self.keys.get(cert_url)
        if not key.usable_at(now):
            raise VerificationFailed("signing certificate not valid now")
        if not key.verify(signature, data, algorithm):
            raise VerificationFailed("SNS signature mismatch")

    def precheck(
        self, envelope: Mapping[str, Any], now: datetime
    ) -> tuple[str, bytes, bytes, hashes.HashAlgorithm]:
        """Everything that can be checked without fetching a certificate, checked first.

        Type, topic, every signed field, the signature's encoding and length, the
        age window and the certificate URL (on SNS's own hosts: its file name and
        the topic's region).  A forged envelope fails here: the bridge fetches
        nothing for it.  Returns the URL, signed bytes, signature and digest.
        """
        if envelope.get("Type") not in ("Notification", *CONFIRMATION_TYPES):
            raise VerificationFailed("not an SNS message type")
        topic = envelope.get("TopicArn")
        if topic not in self.topics:
            raise VerificationFailed("topic not allowed")
        algorithm = signature_algorithm(envelope.get("SignatureVersion"))
        if algorithm is None:
            raise VerificationFailed("unsupported SNS signature version")
        try:
            data = canonical_string(envelope)
            signature = base64.b64decode(str(envelope.get("Signature", "")), validate=True)
            datetime.fromisoformat(str(envelope.get("Timestamp")).replace("Z", "+00:00"))
        except ValueError as exc:
            raise VerificationFailed("malformed SNS envelope") from exc
        if len(signature) not in SIGNATURE_BYTES or not envelope.get("MessageId"):
            raise VerificationFailed("malformed SNS envelope")
        if self.max_age is not None:
            self._check_age(envelope, now, self.max_age)
        cert_url = envelope.get("SigningCertURL")
        if not isinstance(cert_url, str) or not url_is_trusted(cert_url, self.url_pattern):
            raise VerificationFailed("signing certificate URL not trusted")
        if self.url_pattern.pattern == SNS_URL_PATTERN and not cert_url_fits_topic(
            cert_url, str(topic)
        ):
            raise VerificationFailed("signing certificate URL does not fit the topic")
        return cert_url, data, signature, algorithm

    @staticmethod
    def _check_age(envelope: Mapping[str, Any], now: datetime, max_age: timedelta) -> None:
        try:
            sent = datetime.fromisoformat(str(envelope.get("Timestamp")).replace("Z", "+00:00"))
        except ValueError as exc:
            raise VerificationFailed("malformed SNS timestamp") from exc
        if abs(now - sent) > max_age:
            raise VerificationFailed("SNS timestamp outside the allowed window")

    def confirm_subscription(self, envelope: Mapping[str, Any], timeout: float) -> Acknowledged:
        """GET the SubscribeURL of a verified SubscriptionConfirmation, if it is an SNS address.

        An untrusted SubscribeURL is never fetched: the delivery is acknowledged as not
        confirmed (SNS stops retrying) and a warning says to confirm by hand.  A failed GET
        raises UpstreamUnavailable so SNS delivers the confirmation again.
        """
        url = envelope.get("SubscribeURL")
        topic = envelope.get("TopicArn")
        if not isinstance(url, str) or not url_is_trusted(url, self.url_pattern):
            logger.warning(
                "SNS SubscribeURL not trusted, subscription left unconfirmed",
                extra={"event": "sns.subscribe_url_untrusted", "topic": topic},
            )
            return Acknowledged("subscription not confirmed: SubscribeURL is not an SNS address")
        try:
            response = requests.get(url, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise UpstreamUnavailable("could not reach the SubscribeURL") from exc
        if response.status_code != 200:
            raise UpstreamUnavailable(f"SubscribeURL answered {response.status_code}")
        logger.info("SNS subscription confirmed", extra={"event": "sns.confirmed", "topic": topic})
        return Acknowledged("subscription confirmed")
