"""Option schemas shared by the form-like source types."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema
from marshmallow import fields as mfields
from marshmallow.validate import OneOf, Range

from bridge.events import COMMON_FIELDS
from bridge.sources.base import SourceOptionsSchema


class FieldMapOptionsSchema(SourceOptionsSchema):
    """Adds ``fields``: map a common field to an answer key (``{first_name: given_name}``)."""

    # The option is called ``fields`` in the YAML; Schema's own ``fields`` attribute is
    # replaced per instance, so the declaration is safe.
    fields = mfields.Dict(  # type: ignore[assignment]
        keys=mfields.String(validate=OneOf(COMMON_FIELDS)),
        values=mfields.String(),
        load_default=dict,
    )


def refuse_blank(data: dict[str, Any], plural: str, single: str, what: str) -> None:
    """A value of only spaces is a mistake (an unset variable padded out), never a secret."""
    values = [*(data.get(plural) or []), data.get(single)]
    if any(isinstance(v, str) and v and not v.strip() for v in values):
        raise ValidationError(f"a {what} is blank", plural if data.get(plural) else single)


class TokenOptionsSchema(FieldMapOptionsSchema):
    """A shared token (``token``, or ``tokens`` while rotating); one is required."""

    token = mfields.String(load_default=None)
    tokens = mfields.List(mfields.String(), load_default=list)

    @validates_schema
    def _require_token(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not (data.get("token") or any(data.get("tokens") or [])):
            raise ValidationError("a token is required (token or tokens)", "token")
        refuse_blank(data, "tokens", "token", "token")


class SignedOptionsSchema(FieldMapOptionsSchema):
    """An HMAC secret (``secret``, or ``secrets`` while rotating) and a timestamp tolerance."""

    secret = mfields.String(load_default=None)
    secrets = mfields.List(mfields.String(), load_default=list)
    tolerance_seconds = mfields.Integer(load_default=300, validate=Range(min=1))

    def secret_needed(self, data: dict[str, Any]) -> bool:
        """Whether these options must name a secret (subclasses may allow unsigned modes)."""
        return True

    @validates_schema
    def _require_secret(self, data: dict[str, Any], **kwargs: Any) -> None:
        has_secret = data.get("secret") or any(data.get("secrets") or [])
        if self.secret_needed(data) and not has_secret:
            raise ValidationError("a signing secret is required (secret or secrets)", "secrets")
        refuse_blank(data, "secrets", "secret", "signing secret")
