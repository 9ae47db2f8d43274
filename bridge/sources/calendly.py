"""``calendly``: invitee webhooks signed in ``Calendly-Webhook-Signature`` (``t=,v1=``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields as mfields

from bridge.sources.answers import add_answer, add_labelled, make_event
from bridge.sources.base import Accepted, InboundRequest, member, text_id
from bridge.sources.payloads import JsonBody, OpenSchema, load
from bridge.sources.timestamped_signature import TimestampedSignatureSource


class _Invitee(OpenSchema):
    uri = mfields.String(required=True)
    questions_and_answers = mfields.List(mfields.Dict(), load_default=list, allow_none=True)
    scheduled_event = mfields.Dict(load_default=dict, allow_none=True)
    tracking = mfields.Dict(load_default=dict, allow_none=True)
    cancellation = mfields.Dict(load_default=dict, allow_none=True)


class CalendlyPayload(OpenSchema):
    """A Calendly ``invitee.created`` / ``invitee.canceled`` delivery."""

    event = mfields.String(required=True)
    payload = mfields.Nested(_Invitee, required=True)


class CalendlySource(JsonBody, TimestampedSignatureSource):
    """Calendly invitee webhooks (``Calendly-Webhook-Signature``)."""

    type_name = "calendly"
    signature_header = "calendly-webhook-signature"
    credential_headers = frozenset({signature_header})
    _payload_schema = CalendlyPayload()

    def sender_id(self, raw: Any, request: InboundRequest) -> str | None:
        kind, uri = text_id(member(raw, "event")), text_id(member(raw, "payload", "uri"))
        return f"{kind}:{uri}" if kind and uri else None

    def parse(self, request: InboundRequest, now: datetime) -> Accepted:
        raw = self.raw_of(request)
        payload = load(self._payload_schema, raw, "Calendly")
        invitee = payload["payload"]
        answers: dict[str, Any] = {}
        for item in invitee.get("questions_and_answers") or []:
            add_labelled(answers, None, str(item.get("question") or ""), item.get("answer"))
        scheduled = invitee.get("scheduled_event") or {}
        for part in ("name", "start_time", "end_time", "uri"):
            add_answer(answers, f"scheduled_event_{part}", scheduled.get(part))
        for key, value in (invitee.get("tracking") or {}).items():
            if value is not None:
                add_answer(answers, key, value)
        add_answer(answers, "timezone", invitee.get("timezone"))
        add_answer(answers, "cancel_reason", (invitee.get("cancellation") or {}).get("reason"))
        typed = {
            "name": invitee.get("name"),
            "first_name": invitee.get("first_name"),
            "last_name": invitee.get("last_name"),
            "email": invitee.get("email"),
            "phone": invitee.get("text_reminder_number"),
        }
        event = make_event(
            self,
            kind=payload["event"],
            external_id=invitee["uri"],
            now=now,
            answers=answers,
            typed=typed,
            raw=raw,
        )
        return Accepted(event, self.dedupe_key(raw, self.sender_id(raw, request), request.body))
