"""The normalised Event: what every source produces and every rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Common fields a source fills when the sender's payload has them.  Rules and
# templates can rely on these names whatever the sender was.
COMMON_FIELDS = ("first_name", "last_name", "name", "email", "phone", "message")
# Names every event has, whatever its source.  An answer with one of these keys is
# reachable only as ``answers.<key>``: it never shadows them.
EVENT_NAMES = (
    "source",
    "source_type",
    "kind",
    "subject",
    "external_id",
    "received_at",
    "answers",
    "data",
    "previous_data",
    "previousData",
    "raw",
)


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
        """The names conditions and templates see: one mapping for both.

        Every answer key sits at the top level under its own name (a form's
        ``guests``, ``opportunity_id``), then the common fields the source found
        (``email``, ``first_name``...) over them, then :data:`EVENT_NAMES` over
        everything (an answer called ``source`` stays ``answers.source``).  A name
        the event lacks is absent, never an empty string: a template's
        ``default`` applies and ``is defined`` is false.
        """
        ctx: dict[str, Any] = {
            key: value for key, value in self.answers.items() if key not in EVENT_NAMES
        }
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

    def to_json(self, *, with_raw: bool = True) -> dict[str, Any]:
        """A JSON-safe dict; ``with_raw=False`` is the form stored with the inbox row.

        The inbox row keeps the body beside the event, byte for byte, and ``raw`` is
        that body as the source decoded it: stored without it, the row holds the payload
        once and the request encodes it once less (``bridge.sources.stored`` rebuilds it).
        """
        # Not dataclasses.asdict: it deep-copies ``raw`` (the whole payload) field by field.
        out: dict[str, Any] = {
            "source": self.source,
            "source_type": self.source_type,
            "kind": self.kind,
            "external_id": self.external_id,
            "received_at": self.received_at.isoformat(),
            "fields": dict(self.fields),
            "answers": self.answers,
            "data": self.data,
            "previous_data": self.previous_data,
        }
        if with_raw:
            out["raw"] = self.raw
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], raw: Any = None) -> Event:
        """Inverse of :meth:`to_json`; ``raw`` for a form stored without it.

        A stored ``raw`` (events stored before it was left out) wins over the argument.
        """
        values = {"raw": raw, **obj}
        values["received_at"] = datetime.fromisoformat(values["received_at"])
        return cls(**values)
