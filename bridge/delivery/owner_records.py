"""Finding (or creating, exactly once) the record a task belongs to."""

from __future__ import annotations

from typing import Any, Literal

from bridge.evaluation.checks import new_contact_fields, new_contact_problem
from bridge.ivvy.client import IvvyClient
from bridge.rules.plan import OwnerPlan
from bridge.rules.task_schema import ResolvedOwner
from bridge.store.deliveries import DeliveryRecord, DeliveryStore
from bridge.store.queue import Lease
from bridge.store.states import DeliveryState


class OwnerUnavailable(Exception):
    """No owner can be determined: a permanent failure with a reason a person can act on."""


class OwnerResolver:
    """Turns an OwnerPlan into a ResolvedOwner, calling iVvy where the plan says to look up."""

    def __init__(self, client: IvvyClient, store: DeliveryStore, clock: Any) -> None:
        self.client = client
        self.store = store
        self.clock = clock

    def resolve(
        self, plan: OwnerPlan, record: DeliveryRecord, lease: Lease | None = None
    ) -> ResolvedOwner:
        """The owner for this delivery; lookups and creations are safe to repeat.

        ``lease`` is renewed before anything is created in iVvy (LeaseLost if gone).
        """
        if plan.kind == "lead":
            kind: Literal["lead", "opportunity"] = "opportunity" if plan.venue_id else "lead"
            return ResolvedOwner(kind, _required(plan.id, "lead id"), plan.venue_id)
        if plan.kind == "contact":
            return ResolvedOwner("contact", _required(plan.id, "contact id"))
        if plan.kind == "company":
            return ResolvedOwner("company", _required(plan.id, "company id"))
        if plan.kind == "company_name":
            return ResolvedOwner("company", self._company_by_name(plan))
        if plan.kind == "contact_email":
            contact = self._contact(plan, record, create=plan.create_contact, lease=lease)
            return ResolvedOwner("contact", contact)
        if plan.kind == "new_lead":
            return ResolvedOwner("lead", self._new_lead(plan, record, lease))
        raise OwnerUnavailable(f"unknown owner kind {plan.kind!r}")

    def _company_by_name(self, plan: OwnerPlan) -> int:
        name = (plan.business_name or "").strip()
        if not name:
            raise OwnerUnavailable("the event gives no company name to look up")
        found = self.client.find_companies_by_name(name)
        if not found:
            raise OwnerUnavailable("no company with that business name exists in iVvy")
        return int(found[0]["id"])

    def _contact(
        self, plan: OwnerPlan, record: DeliveryRecord, *, create: bool, lease: Lease | None
    ) -> int:
        if record.contact_id is not None:
            return record.contact_id
        email = (plan.email or "").strip()
        if not email:
            raise OwnerUnavailable(
                "the event has no email address, so no contact can be found or created"
            )
        # Looking up by email first makes creation safe to repeat: a contact
        # created by an attempt whose answer was lost is found here next time.
        found = self.client.find_contacts_by_email(email)
        if found:
            return int(found[0]["id"])
        if not create:
            raise OwnerUnavailable(
                "no iVvy contact has the event's email address, and the rule does not create one"
            )
        fields = new_contact_fields(plan.contact_fields, email)
        problem = new_contact_problem(fields)  # evaluation refused such a plan already
        if problem is not None:
            raise OwnerUnavailable(problem)
        fields.setdefault("externalId", record.marker)
        self.store.update(record, self.clock(), lease=lease)
        contact_id = self.client.add_or_update_contact(fields)
        self.store.update(record, self.clock(), contact_id=contact_id)
        return contact_id

    def _new_lead(self, plan: OwnerPlan, record: DeliveryRecord, lease: Lease | None) -> int:
        if record.lead_id is not None:
            return record.lead_id
        fields: dict[str, Any] = dict(plan.lead_fields)
        # Always look first: an earlier attempt (of this job, or of a job that
        # failed and was replayed) may have created the lead and lost the answer.
        existing = self._lead_with_marker(str(fields.get("name") or ""), record.marker)
        if existing is not None:
            self.store.update(record, self.clock(), lead_id=existing)
            return existing
        if "contactId" not in fields and "companyId" not in fields and "company" not in fields:
            fields["contactId"] = self._contact(plan, record, create=True, lease=lease)
        description = str(fields.get("description") or "").strip()
        fields["description"] = f"{description}\n\n{record.marker}".strip()
        self.store.update(record, self.clock(), lease=lease, state=DeliveryState.CREATING_LEAD)
        lead_id = self.client.add_or_update_lead(fields)
        self.store.update(record, self.clock(), lead_id=lead_id, state=DeliveryState.PENDING)
        return lead_id

    def _lead_with_marker(self, name: str, marker: str) -> int | None:
        filter_ = {"name": name} if name else None
        for lead in self.client.get_lead_list(filter_):
            if marker in str(lead.get("description") or ""):
                return int(lead["id"])
        return None


def _required(value: int | None, what: str) -> int:
    if value is None:
        raise OwnerUnavailable(f"the event gives no {what}")
    return value
