"""A rule's owner spec (lead, opportunity, contact, company, new lead), rendered to an OwnerPlan.

iVvy attaches a task to exactly one owner.  When the event does not carry what the
spec needs (no email, an id that renders empty), rendering raises :class:`OwnerError`
with a reason a person can act on, and never the offending email or phone number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.rules.names import with_hints
from bridge.rules.plan import OwnerKind, OwnerPlan
from bridge.rules.templates import Template, compile_template
from bridge.rules.values import show

OwnerKey = Literal["lead", "opportunity", "contact", "company", "new_lead"]
OWNER_KEYS: tuple[OwnerKey, ...] = ("lead", "opportunity", "contact", "company", "new_lead")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What a created contact gets from the event unless the rule says otherwise.
DEFAULT_CONTACT_FIELDS = {
    "firstName": "{{ first_name }}",
    "lastName": "{{ last_name }}",
    "phone": "{{ phone | default('') }}",  # optional: no warning when absent
}
LEAD_ID_FIELDS = {
    "source_id": "sourceId",
    "type_id": "typeId",
    "subtype_id": "subtypeId",
    "stage_id": "stageId",
    "industry_id": "industryId",
    "channel_id": "channelId",
    "quality_id": "qualityId",
}


class OwnerError(ValueError):
    """The event lacks what the rule's owner needs; the message is safe to show."""


@dataclass(frozen=True)
class OwnerSpec:
    """What a rule says about the task's owner, with its templates compiled."""

    key: OwnerKey
    id: Template | None = None
    venue: Template | None = None
    email: Template | None = None
    business_name: Template | None = None
    create_contact: bool = False
    contact_fields: Mapping[str, Template] = field(default_factory=dict)
    lead_name: Template | None = None
    lead_description: Template | None = None
    lead_ids: Mapping[str, int] = field(default_factory=dict)

    @property
    def plan_kind(self) -> OwnerKind:
        """The OwnerPlan kind this spec produces."""
        if self.key in ("lead", "opportunity"):
            return "lead"
        if self.key == "contact":
            return "contact" if self.id is not None else "contact_email"
        if self.key == "company":
            return "company" if self.id is not None else "company_name"
        return "new_lead"

    def describe(self) -> str:
        """The spec in words, for ``bridge check`` and the status pages."""
        source = {
            "lead": lambda: f"lead {self._src(self.id)}",
            "opportunity": lambda: f"opportunity {self._src(self.id)}",
            "contact": lambda: (
                f"contact {self._src(self.id)}"
                if self.id is not None
                else f"contact by email {self._src(self.email)}"
                + (", created when missing" if self.create_contact else "")
            ),
            "company": lambda: (
                f"company {self._src(self.id)}"
                if self.id is not None
                else f"company named {self._src(self.business_name)}"
            ),
            "new_lead": lambda: f"a new lead {self._src(self.lead_name)}",
        }
        return source[self.key]()

    @staticmethod
    def _src(template: Template | None) -> str:
        return template.source if template is not None else ""

    def render(self, context: Mapping[str, Any], rule: str) -> OwnerPlan:
        """The OwnerPlan for one event; :class:`OwnerError` when the event lacks what it needs."""
        kind = self.plan_kind
        if kind == "lead":
            venue = self._int(self.venue, context, rule, f"{self.key} venue", optional=True)
            if self.key == "opportunity" and venue is None:
                empty = "the opportunity's venue id rendered empty"
                raise OwnerError(with_hints(empty, self.venue, context))
            return OwnerPlan(
                kind, id=self._int(self.id, context, rule, f"{self.key} id"), venue_id=venue
            )
        if kind in ("contact", "company"):
            return OwnerPlan(kind, id=self._int(self.id, context, rule, f"{self.key} id"))
        if kind == "company_name":
            assert self.business_name is not None
            name = self.business_name.render(context).strip()
            if not name:
                empty = "the company name rendered empty, so no company can be found"
                raise OwnerError(with_hints(empty, self.business_name, context))
            return OwnerPlan(kind, business_name=name)
        if kind == "contact_email":
            email = self._email(
                context,
                rule,
                "no contact can be found or created"
                if self.create_contact
                else "no contact can be found",
            )
            fields = self._contact_fields(context, email) if self.create_contact else {}
            return OwnerPlan(
                kind, email=email, create_contact=self.create_contact, contact_fields=fields
            )
        return self._new_lead(context, rule)

    def _new_lead(self, context: Mapping[str, Any], rule: str) -> OwnerPlan:
        assert self.lead_name is not None
        name = self.lead_name.render(context).strip()
        if not name:
            raise OwnerError(
                with_hints("the new lead's name rendered empty", self.lead_name, context)
            )
        email = self._email(context, rule, "the new lead has no contact")
        lead: dict[str, Any] = {"name": name}
        for option, ivvy_name in LEAD_ID_FIELDS.items():
            if option in self.lead_ids:
                lead[ivvy_name] = self.lead_ids[option]
        if self.lead_description is not None:
            description = self.lead_description.render(context).strip()
            if description:
                lead["description"] = description
        return OwnerPlan(
            "new_lead",
            email=email,
            create_contact=True,
            contact_fields=self._contact_fields(context, email),
            lead_fields=lead,
        )

    def _email(self, context: Mapping[str, Any], rule: str, consequence: str) -> str:
        assert self.email is not None
        email = self.email.render(context).strip()
        if not email:
            empty = f"no email in the event, so {consequence}"
            raise OwnerError(with_hints(empty, self.email, context))
        if not _EMAIL.match(email):
            raise OwnerError(f"the email in the event is not a valid address, so {consequence}")
        return email

    def _contact_fields(self, context: Mapping[str, Any], email: str) -> dict[str, Any]:
        rendered = {name: t.render(context).strip() for name, t in self.contact_fields.items()}
        full_name = str(context.get("name") or "").strip()
        if not rendered.get("firstName") and not rendered.get("lastName") and full_name:
            first, _, last = full_name.partition(" ")
            rendered["firstName"], rendered["lastName"] = first, last.strip()
        rendered["email"] = email
        return {name: value for name, value in rendered.items() if value}

    @staticmethod
    def _int(
        template: Template | None,
        context: Mapping[str, Any],
        rule: str,
        what: str,
        *,
        optional: bool = False,
    ) -> int | None:
        if template is None:
            return None
        text = template.render(context).strip()
        if not text:
            if optional:
                return None
            empty = f"the {what} rendered empty from {template.source!r}"
            raise OwnerError(with_hints(empty, template, context))
        if not text.isdigit() or int(text) < 1:
            raise OwnerError(f"the {what} {show(what, text)} is not a positive whole number")
        return int(text)


def contact_templates(create: Any) -> dict[str, Template]:
    """The templates for a contact created when missing: the defaults, overridden by the rule's."""
    sources = dict(DEFAULT_CONTACT_FIELDS)
    if isinstance(create, Mapping):
        sources.update({str(k): str(v) for k, v in create.items()})
    return {name: compile_template(source) for name, source in sources.items()}
