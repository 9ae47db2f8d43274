"""Build iVvy notifications as SNS delivers them, signed at both layers.

Used by the tests to play iVvy sending notifications.  Pure: no HTTP, no clock (``now`` is
passed in).  The receiving side must be told where the keys are: serve
``NotifierKeys.ivvy_public_pem()`` at ``signing_key_base_url + ivvy_key_path`` and
``NotifierKeys.sns_certificate_pem`` at ``sns_cert_url`` (allowed by ``sns_cert_url_pattern``).
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bridge.sources.ivvy_message import signature_hash, string_to_sign
from bridge.sources.sns import canonical_string, signature_algorithm

Envelope = dict[str, Any]


def rsa_sign(private_key: rsa.RSAPrivateKey, data: bytes, algorithm: hashes.HashAlgorithm) -> str:
    """Base64 RSA PKCS#1 v1.5 signature."""
    return base64.b64encode(private_key.sign(data, padding.PKCS1v15(), algorithm)).decode()


def self_signed_certificate(
    private_key: rsa.RSAPrivateKey, now: datetime, days: int = 365, common_name: str = "sns.test"
) -> bytes:
    """A PEM certificate for the key, valid from a day before ``now`` for ``days`` days."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class NotifierKeys:
    """iVvy's message-signing key (and its key path) and SNS's certificate key (and its URL)."""

    ivvy_private_key: rsa.RSAPrivateKey
    ivvy_key_path: str
    sns_private_key: rsa.RSAPrivateKey
    sns_cert_url: str
    sns_certificate_pem: bytes

    @classmethod
    def generate(
        cls,
        *,
        now: datetime,
        sns_cert_url: str,
        ivvy_key_path: str = "/accounts/1/1/notifcert.txt",
        key_size: int = 2048,
    ) -> NotifierKeys:
        """Fresh RSA keys and a self-signed SNS certificate valid around ``now``."""
        ivvy_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        sns_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        cert = self_signed_certificate(sns_key, now)
        return cls(ivvy_key, ivvy_key_path, sns_key, sns_cert_url, cert)

    def ivvy_public_pem(self, pkcs1: bool = False) -> bytes:
        """iVvy's public key as ``PUBLIC KEY`` (SPKI) or, with ``pkcs1``, ``RSA PUBLIC KEY``."""
        fmt = (
            serialization.PublicFormat.PKCS1
            if pkcs1
            else serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self.ivvy_private_key.public_key().public_bytes(serialization.Encoding.PEM, fmt)


def sns_timestamp(now: datetime) -> str:
    """SNS's timestamp format: ``2024-03-11T00:00:45.569Z``."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def aws_region_of(topic_arn: str) -> str:
    """The AWS region inside an SNS topic ARN (``arn:aws:sns:<region>:...``)."""
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "ap-southeast-2"


class Notifier:
    """Signed iVvy notifications and subscription handshakes for one topic and account."""

    def __init__(
        self,
        keys: NotifierKeys,
        *,
        topic_arn: str,
        region: str = "stage",
        account_id: str = "1",
        signature_version: str = "1",
    ) -> None:
        self.keys = keys
        self.topic_arn = topic_arn
        self.region = region
        self.account_id = account_id
        self.signature_version = signature_version

    def message(
        self,
        subject: str,
        body: Mapping[str, Any] | list[Any] | str,
        *,
        now: datetime,
        txn_id: str | None = None,
        api_key: str | None = None,
    ) -> str:
        """The inner iVvy message (a JSON string), signed; ``api_key`` marks an API change."""
        body_text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        txn = txn_id or uuid.uuid4().hex
        timestamp = int(now.timestamp())
        to_sign = string_to_sign(
            txn_id=txn,
            region=self.region,
            timestamp=timestamp,
            account_id=self.account_id,
            subject=subject,
            body=body_text,
        )
        message = {
            "TxnId": txn,
            "Region": self.region,
            "Timestamp": timestamp,
            "AccountId": self.account_id,
            "Subject": subject,
            "Body": body_text,
            "SourceType": 1 if api_key else 0,
            "SourceInfo": json.dumps({"key": api_key}) if api_key else None,
            "Signature": rsa_sign(self.keys.ivvy_private_key, to_sign.encode(), signature_hash()),
            "SigningPublicKeyPath": self.keys.ivvy_key_path,
        }
        return json.dumps(message, separators=(",", ":"))

    def notification(
        self,
        subject: str,
        body: Mapping[str, Any] | list[Any] | str,
        *,
        now: datetime,
        txn_id: str | None = None,
        message_id: str | None = None,
        api_key: str | None = None,
    ) -> Envelope:
        """A complete SNS ``Notification`` envelope carrying a signed iVvy message."""
        envelope: Envelope = {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": self.topic_arn,
            "Message": self.message(subject, body, now=now, txn_id=txn_id, api_key=api_key),
            "Timestamp": sns_timestamp(now),
            "UnsubscribeURL": (
                f"https://sns.{aws_region_of(self.topic_arn)}.amazonaws.com/"
                f"?Action=Unsubscribe&SubscriptionArn={self.topic_arn}:{uuid.uuid4()}"
            ),
        }
        return self.sign_envelope(envelope)

    def subscription_confirmation(
        self,
        subscribe_url: str,
        *,
        now: datetime,
        token: str | None = None,
        message_id: str | None = None,
        kind: str = "SubscriptionConfirmation",
    ) -> Envelope:
        """A signed ``SubscriptionConfirmation`` (or ``UnsubscribeConfirmation``) envelope."""
        envelope: Envelope = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "Token": token or secrets.token_hex(32),
            "TopicArn": self.topic_arn,
            "Message": (
                f"You have chosen to subscribe to the topic {self.topic_arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message."
            ),
            "SubscribeURL": subscribe_url,
            "Timestamp": sns_timestamp(now),
        }
        return self.sign_envelope(envelope)

    def sign_envelope(self, envelope: Envelope) -> Envelope:
        """The envelope with ``SignatureVersion``, ``Signature`` and ``SigningCertURL`` set."""
        algorithm = signature_algorithm(self.signature_version)
        signed = dict(envelope)
        signed["SignatureVersion"] = self.signature_version
        signed["Signature"] = rsa_sign(
            self.keys.sns_private_key, canonical_string(envelope), algorithm
        )
        signed["SigningCertURL"] = self.keys.sns_cert_url
        return signed


def envelope_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The HTTP body SNS would post for an envelope."""
    return json.dumps(envelope, indent=2).encode("utf-8")
