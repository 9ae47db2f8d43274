"""The checks delivery makes before or between its iVvy calls, in the words it records.

They run on the plan, so preview reports them as the worker would, and the worker
refuses a plan that fails one before calling iVvy at all.  ``owner_records`` calls
:func:`new_contact_problem` again on the fields it is about to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.rules.plan import TaskPlan

# What iVvy requires of a contact it creates (addOrUpdateContact), besides the email.
NEW_CONTACT_NAMES = ("firstName", "lastName")
# What iVvy requires of a contact's lead it creates (addOrUpdateLead), besides its contact.
NEW_LEAD_FIELDS = ("name", "sourceId", "typeId", "stageId", "industryId")


def new_contact_fields(contact_fields: Mapping[str, Any], email: str) -> dict[str, Any]:
    """The addOrUpdateContact fields delivery sends for a contact created when missing."""
    fields = {k: v for k, v in contact_fields.items() if v not in (None, "")}
    fields["email"] = email
    return fields


def new_contact_problem(fields: Mapping[str, Any]) -> str | None:
    """Why iVvy would refuse to create a contact with ``fields``, or None."""
    missing = [name for name in NEW_CONTACT_NAMES if not fields.get(name)]
    if missing:
        return "a new contact needs " + " and ".join(missing) + ", and the event has none"
    return None


def plan_problem(plan: TaskPlan) -> str | None:
    """The permanent failure delivery would record for ``plan`` whatever iVvy holds, or None.

    A rule that may create a contact must be able to: the check does not wait to learn
    whether a contact with the email exists, so preview and the worker agree without iVvy.
    """
    owner = plan.owner
    if owner.kind == "new_lead":
        missing = [name for name in NEW_LEAD_FIELDS if owner.lead_fields.get(name) in (None, "")]
        if missing:  # the rule schema requires them: only a rule built in code can lack one
            return "a new lead needs " + " and ".join(missing) + ", and the rule gives none"
    if owner.create_contact:
        return new_contact_problem(new_contact_fields(owner.contact_fields, owner.email or ""))
    return None
