"""What the rules engine hands to delivery: one TaskPlan per matched rule.

Plans are plain data.  The engine knows nothing of HTTP; delivery knows nothing
of conditions or templates.  Lookups that need iVvy (a contact by email, a user
by email, a venue's timezone) are described here and carried out by delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OwnerKind = Literal[
    "lead",  # an existing lead or opportunity id (opportunity: venue_id set)
    "contact",  # an existing contact id
    "contact_email",  # a contact looked up by email, created when missing if create_contact
    "company",  # an existing company id
    "company_name",  # a company looked up by business name
    "new_lead",  # a lead created through addOrUpdateLead, the task attached to it
]


@dataclass(frozen=True)
class OwnerPlan:
    """How delivery finds the task's one owner (iVvy allows exactly one)."""

    kind: OwnerKind
    id: int | None = None
    venue_id: int | None = None
    email: str | None = None
    business_name: str | None = None
    create_contact: bool = False
    # addOrUpdateContact fields for a contact created when missing
    # (firstName, lastName, email, phone), already rendered.
    contact_fields: dict[str, Any] = field(default_factory=dict)
    # addOrUpdateLead fields for a new lead (name, sourceId, typeId, stageId, ...),
    # already rendered; the lead's contact comes from contact_fields / email.
    lead_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssigneePlan:
    """Who the task is for: user ids, or emails / full names resolved through getUserList.

    With more than one candidate, delivery rotates through them.
    """

    candidates: tuple[int | str, ...]


@dataclass(frozen=True)
class TaskPlan:
    """A rendered task, ready for owner resolution and creation."""

    rule: str
    name: str
    due: datetime  # aware; delivery sends it to iVvy as UTC "yyyy-mm-dd HH:MM:SS"
    owner: OwnerPlan
    description: str = ""
    priority: str | None = None  # low | medium | high
    status: int | None = None  # 0 Not Started ... 4 Completed
    assignee: AssigneePlan | None = None
    # The correlation key later rules find this task by (rendered ``task.key``), if any.
    key: str | None = None
    # ``task.update_open``: while the key has an open task of this rule, update it instead.
    update_open: OpenTaskPlan | None = None


ActionKind = Literal["complete", "cancel", "update"]


@dataclass(frozen=True)
class OpenTaskPlan:
    """How a create rule with ``update_open`` updates its key's open task instead."""

    within_days: int | None  # only a task made for an event this recent; None: any age
    append: str  # the line added to the open task's description


@dataclass(frozen=True)
class TaskChanges:
    """What an action changes on each task it selects; None: left as it is."""

    status: int | None = None
    due: datetime | None = None
    name: str | None = None
    description: str | None = None  # replaces the description (the bridge's markers kept)
    append: str | None = None  # a line added to the description
    priority: str | None = None
    assignee: AssigneePlan | None = None


@dataclass(frozen=True)
class ActionPlan:
    """A rendered action on the open tasks earlier rules created for the same record or key."""

    rule: str
    action: ActionKind
    of_rules: tuple[str, ...]  # the rules whose tasks it acts on
    changes: TaskChanges
    key: str | None = None  # select by key ...
    owner: OwnerPlan | None = None  # ... and/or by owner
    within_days: int | None = None  # only tasks made for events this recent


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's verdict on one event: matched or not, why, and its plan or error."""

    rule: str
    matched: bool
    reasons: tuple[str, ...] = ()
    plan: TaskPlan | None = None
    action: ActionPlan | None = None  # a rule that acts on earlier tasks instead of creating one
    # A matched rule that cannot produce a valid task (owner missing, bad
    # template output): a reason a person can act on.  Not retried.
    error: str | None = None
