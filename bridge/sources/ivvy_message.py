"""The iVvy message inside an SNS ``Message``: its fields, string to sign and key address.

iVvy signs ``lower(TxnId:Region:Timestamp:AccountId:Subject:sha1hex(Body))`` with RSA-SHA1
(PKCS#1 v1.5); the PEM public key lives at a per-region base URL + ``SigningPublicKeyPath``.
Pure functions, shared by the verifier (``bridge.sources.ivvy``) and the tests' notifier.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.sources.decoding import decode_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hashes

STAGE_KEY_BASE = (
    "https://s3-ap-southeast-2.amazonaws.com/notifications.stageau.ap-southeast-2.ivvy.com"
)
_REGION = re.compile(r"[a-z0-9-]{1,40}")
_KEY_PATH = re.compile(r"/[A-Za-z0-9._/-]{1,300}")


@dataclass(frozen=True)
class IvvyMessage:
    """The decoded inner message; ``raw`` keeps every key as sent."""

    txn_id: str
    region: str
    timestamp: Any
    account_id: str
    subject: str
    body: str
    source_type: Any
    source_info: Any
    signature: str
    key_path: str
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, text: object) -> IvvyMessage:
        """Decode SNS's ``Message`` string; ValueError if it is not an iVvy message."""
        if not isinstance(text, str):
            raise ValueError("the SNS Message is not a string")
        obj = decode_json(text, "the SNS Message")  # UnsafeJSON is a ValueError
        if not isinstance(obj, dict):
            raise ValueError("the iVvy message is not an object")
        for key in ("Subject", "Signature", "SigningPublicKeyPath"):
            if not isinstance(obj.get(key), str):
                raise ValueError(f"the iVvy message has no {key}")
        return cls(
            txn_id=_text(obj.get("TxnId")),
            region=_text(obj.get("Region")),
            timestamp=obj.get("Timestamp"),
            account_id=_text(obj.get("AccountId")),
            subject=obj["Subject"],
            body=_text(obj.get("Body")),
            source_type=obj.get("SourceType"),
            source_info=obj.get("SourceInfo"),
            signature=obj["Signature"],
            key_path=obj["SigningPublicKeyPath"],
            raw=obj,
        )

    def string_to_sign(self) -> str:
        """The lower-cased canonical string iVvy signs."""
        return string_to_sign(
            txn_id=self.txn_id,
            region=self.region,
            timestamp=self.timestamp,
            account_id=self.account_id,
            subject=self.subject,
            body=self.body,
        )

    def signature_bytes(self) -> bytes:
        """The decoded signature; ValueError if it is not base64."""
        return base64.b64decode(self.signature, validate=True)

    def api_key(self) -> str | None:
        """The API key in ``SourceInfo`` when the change came through the API (SourceType 1)."""
        if str(self.source_type) != "1":
            return None
        info = self.source_info
        if isinstance(info, str):
            try:
                info = decode_json(info, "SourceInfo")
            except ValueError:
                return None
        if isinstance(info, Mapping) and isinstance(info.get("key"), str):
            return str(info["key"])
        return None


def signature_hash() -> hashes.HashAlgorithm:
    """The digest of iVvy's message signature (SHA-1, iVvy's choice, not ours)."""
    from cryptography.hazmat.primitives import hashes  # only where a signature is checked

    return hashes.SHA1()  # noqa: S303


def _text(value: object) -> str:
    return "" if value is None else str(value)


def body_sha1(body: str) -> str:
    """Lower-case hex SHA-1 of the Body string's UTF-8 bytes."""
    return hashlib.sha1(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def string_to_sign(
    *, txn_id: str, region: str, timestamp: Any, account_id: str, subject: str, body: str
) -> str:
    """``lower(TxnId:Region:Timestamp:AccountId:Subject:sha1hex(Body))``, null parts empty."""
    parts = [_text(txn_id), _text(region), _text(timestamp), _text(account_id), _text(subject)]
    return ":".join([*parts, body_sha1(body or "")]).lower()


def key_base_url(region: str) -> str:
    """Where iVvy publishes signing keys for a region (``stage`` has its own bucket)."""
    if region == "stage":
        return STAGE_KEY_BASE
    return f"https://s3-{region}.amazonaws.com/accountnotifications.{region}.ivvy.com"


def signing_key_url(message: IvvyMessage, base_override: str | None = None) -> str:
    """The PEM's URL; ValueError for a region or path that could lead anywhere else."""
    if not _KEY_PATH.fullmatch(message.key_path) or ".." in message.key_path:
        raise ValueError("unexpected SigningPublicKeyPath")
    if base_override:
        return base_override.rstrip("/") + message.key_path
    if not _REGION.fullmatch(message.region):
        raise ValueError("unexpected Region")
    return key_base_url(message.region) + message.key_path
