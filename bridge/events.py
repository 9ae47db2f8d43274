"""The normalised Event: what every source produces and every rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Common fields a source fills when the sender's payload has them.  Rules and
# templates can rely on these names whatever the sender was.
COMMON_FIELDS = ("first_name", "last_name", "name", "email", "phone", "message")


@dataclass(frozen=True)
class Event:
    """One inbound webhook, normalised.

    ``kind`` is the sender's event type (``form_response``, ``invitee.created``)
    or, for iVvy, the notification ``Subject`` (``OpportunityUpdated``).
    ``answers`` holds every form answer under a stable key (a field ref, a
    label turned into a slug, a Jotform question name).  ``data`` and
    ``previous_data`` are iVvy's ``data`` / ``previousData``; forms leave them empty.
    """

    source: str
    source_type: str
    kind: str
    external_id: str | None
    received_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    previous_data: dict[str, Any] = field(default_factory=dict)
    raw: Any = None

    def context(self) -> dict[str, Any]:
        """The mapping that conditions and templates see.

        Common fields sit at the top level (``email``, ``first_name``...), next
        to ``answers``, ``data``, ``previous_data`` (alias ``previousData``),
        ``raw``, ``source``, ``kind`` (alias ``subject``) and ``external_id``.
        """
        ctx: dict[str, Any] = {name: "" for name in COMMON_FIELDS}
        ctx.update(self.fields)
        ctx.update(
            source=self.source,
            source_type=self.source_type,
            kind=self.kind,
            subject=self.kind,
            external_id=self.external_id,
            received_at=self.received_at.isoformat(),
            answers=self.answers,
            data=self.data,
            previous_data=self.previous_data,
            previousData=self.previous_data,
            raw=self.raw,
        )
        return ctx

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict, the form stored with the inbox row."""
        # Not dataclasses.asdict: it deep-copies ``raw`` (the whole payload) field by field.
        return {
            "source": self.source,
            "source_type": self.source_type,
            "kind": self.kind,
            "external_id": self.external_id,
            "received_at": self.received_at.isoformat(),
            "fields": dict(self.fields),
            "answers": self.answers,
            "data": self.data,
            "previous_data": self.previous_data,
            "raw": self.raw,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_json`."""
        values = dict(obj)
        values["received_at"] = datetime.fromisoformat(values["received_at"])
        return cls(**values)
