"""The ``rules:`` entries of the config file: ``RuleSchema().load(mapping) -> Rule``.

One rule, in YAML::

    - name: website-enquiry             # unique; letters, digits, - _ .
      description: Website enquiries    # optional, shown by `bridge check` and the status pages
      on: {source: website}             # or sources: [a, b]; kind(s): / subject(s): (iVvy)
      when: {field: answers.event_type, in: [Wedding, Conference]}  # optional: conditions.py
      contact: {email: "{{ email }}", create: true}   # the task's owner, exactly one of:
      #   lead: {id: "{{ data.id }}"}                   (with venue: it is an opportunity)
      #   opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}
      #   contact: {id: "{{ data.contact.id }}"}
      #   contact: {email: "{{ email }}", create: {lastName: "{{ answers.surname }}"}}
      #   company: {id: 214}   or   company: {name: "{{ answers.company }}"}
      #   new_lead: {name: "{{ name }} enquiry", source_id: 3, type_id: 2, stage_id: 1,
      #              industry_id: 4, subtype_id, channel_id, quality_id, description,
      #              contact: {email, firstName, lastName, phone}}   (defaults: the event's)
      venue: "{{ data.venueId }}"       # optional: due dates in this venue's timezone
      task:
        name: "Call {{ first_name }} about their {{ answers.event_type | lower }}"
        description: "{{ message }}"    # optional
        due: "+1 business day at 09:00" # or "-2 days from {{ data.startDate }} at 10:00"
        priority: high                  # low | medium | high
        status: Not Started             # Not Started, In Progress, On Hold, Cancelled, Completed
        assignee: events@venue.example  # user id, email, full name, template, or a list to rotate
      stop: false                       # true: when this matches, later rules are not evaluated

``create: true`` fills a created contact from the event's ``first_name``, ``last_name``
(or ``name`` split in two) and ``phone``; a mapping overrides any of them.
Unquoted ``on`` is the boolean true in YAML 1.1; the schema accepts that key as ``on``.
Errors are marshmallow's, keyed by path (``{"task": {"due": ["..."]}}``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from bridge.rules.actions import ACTION_KEYS, ACTION_SCHEMAS, UpdateOpenField
from bridge.rules.owner_spec import OWNER_KEYS, OwnerSpec, contact_templates
from bridge.rules.rule import Rule, TaskSpec, Trigger
from bridge.rules.rule_fields import (
    PRIORITIES,
    AssigneeField,
    ConditionField,
    DueField,
    StatusField,
    TemplateField,
)
from bridge.rules.templates import compile_template

_NAME = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", error="use letters, digits, '-', '_' or '.' (no spaces)"
)
_ID = validate.Range(min=1, error="must be a positive id")


class TriggerSchema(Schema):
    """``on``: the sources and kinds (iVvy subjects) a rule is for."""

    source = fields.String(validate=validate.Length(min=1))
    sources = fields.List(fields.String(validate=validate.Length(min=1)))
    kind = fields.String(validate=validate.Length(min=1))
    kinds = fields.List(fields.String(validate=validate.Length(min=1)))
    subject = fields.String(validate=validate.Length(min=1))
    subjects = fields.List(fields.String(validate=validate.Length(min=1)))

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError(
                "say which events: source, sources, kind, kinds, subject or subjects"
            )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Trigger:
        def collect(one: str, many: str) -> list[str]:
            return ([data[one]] if one in data else []) + list(data.get(many, []))

        kinds = collect("kind", "kinds") + collect("subject", "subjects")
        return Trigger(tuple(collect("source", "sources")), tuple(dict.fromkeys(kinds)))


class LeadOwnerSchema(Schema):
    """``lead:`` an existing lead (or, with ``venue``, an opportunity) by id."""

    id = TemplateField(required=True)
    venue = TemplateField(load_default=None)


class OpportunityOwnerSchema(Schema):
    """``opportunity:`` an existing opportunity by id, with its venue id."""

    id = TemplateField(required=True)
    venue = TemplateField(required=True)


class ContactOwnerSchema(Schema):
    """``contact:`` by id, or by email (created when missing if ``create`` is true or a mapping)."""

    id = TemplateField()
    email = TemplateField()
    create = fields.Raw(load_default=False)

    @validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("id" in data) == ("email" in data):
            raise ValidationError("give either id or email")
        create = data.get("create")
        if not isinstance(create, bool | dict):
            raise ValidationError(
                "true, false, or contact fields (firstName, lastName, phone)", "create"
            )
        if create and "id" in data:
            raise ValidationError("only a contact found by email can be created", "create")
        if isinstance(create, dict):
            bad = [k for k, v in create.items() if not isinstance(v, str | int) or k == "email"]
            if bad:
                raise ValidationError(
                    f"{bad[0]}: give a text or template (email comes from email)", "create"
                )


class CompanyOwnerSchema(Schema):
    """``company:`` by id, or by business name."""

    id = TemplateField()
    name = TemplateField()

    @validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("id" in data) == ("name" in data):
            raise ValidationError("give either id or name")


class LeadContactSchema(Schema):
    """The contact of a new lead (by default the event's email and names)."""

    email = TemplateField(load_default=lambda: compile_template("{{ email }}"))
    firstName = TemplateField()
    lastName = TemplateField()
    phone = TemplateField()


class NewLeadOwnerSchema(Schema):
    """``new_lead:`` a lead created for the task, with the account's source, type and stage ids."""

    name = TemplateField(required=True)
    description = TemplateField(load_default=None)
    source_id = fields.Integer(required=True, strict=True, validate=_ID)
    type_id = fields.Integer(required=True, strict=True, validate=_ID)
    stage_id = fields.Integer(required=True, strict=True, validate=_ID)
    subtype_id = fields.Integer(strict=True, validate=_ID)
    # iVvy requires industryId for a lead that belongs to a contact, which every new_lead is.
    industry_id = fields.Integer(
        required=True,
        strict=True,
        validate=_ID,
        error_messages={
            "required": "is required: iVvy refuses a lead that belongs to a contact without "
            "industryId (the account's industry id)"
        },
    )
    channel_id = fields.Integer(strict=True, validate=_ID)
    quality_id = fields.Integer(strict=True, validate=_ID)
    contact = fields.Nested(
        LeadContactSchema, load_default=lambda: {"email": compile_template("{{ email }}")}
    )


class TaskSchema(Schema):
    """``task:`` what gets created in iVvy."""

    name = TemplateField(required=True)
    description = TemplateField(load_default=None)
    due = DueField(required=True)
    priority = fields.String(
        load_default=None, validate=validate.OneOf(PRIORITIES, error="use low, medium or high")
    )
    status = StatusField(load_default=None)
    assignee = AssigneeField(load_default=())
    key = TemplateField(load_default=None)  # rules.actions: found again by this key
    update_open = UpdateOpenField(load_default=None)

    @validates_schema
    def _open_needs_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("update_open") is not None and data.get("key") is None:
            raise ValidationError(
                "needs the task's key: update_open updates the key's open task", "update_open"
            )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> TaskSpec:
        return TaskSpec(
            name=data["name"],
            due=data["due"],
            description=data["description"],
            priority=data["priority"],
            status=data["status"],
            assignees=data["assignee"],
            key=data["key"],
            update_open=data["update_open"],
        )


class RuleSchema(Schema):
    """One rule; ``load`` returns a :class:`bridge.rules.rule.Rule`."""

    name = fields.String(required=True, validate=_NAME)
    description = fields.String(load_default=None)
    trigger = fields.Nested(TriggerSchema, data_key="on", required=True)
    when = ConditionField(load_default=None)
    lead = fields.Nested(LeadOwnerSchema)
    opportunity = fields.Nested(OpportunityOwnerSchema)
    contact = fields.Nested(ContactOwnerSchema)
    company = fields.Nested(CompanyOwnerSchema)
    new_lead = fields.Nested(NewLeadOwnerSchema)
    venue = TemplateField(load_default=None)
    task = fields.Nested(TaskSchema)
    complete = fields.Nested(ACTION_SCHEMAS["complete"])
    cancel = fields.Nested(ACTION_SCHEMAS["cancel"])
    update = fields.Nested(ACTION_SCHEMAS["update"])
    stop = fields.Boolean(load_default=False)

    @pre_load
    def _yaml_on(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and True in data and "on" not in data:
            data = dict(data)
            data["on"] = data.pop(True)
        return data

    @validates_schema
    def _one_thing_to_do(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [key for key in ("task", *ACTION_KEYS) if key in data]
        if not given:
            raise ValidationError(
                "say what the rule does: task (create one), or complete, cancel or update"
            )
        if len(given) > 1:
            raise ValidationError(
                f"a rule does one thing; remove {', '.join(given[1:])} or {given[0]}", given[1]
            )

    @validates_schema
    def _one_owner(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [key for key in OWNER_KEYS if key in data]
        action = next((data[k] for k in ACTION_KEYS if k in data), None)
        if action is not None:
            if "new_lead" in given:
                raise ValidationError(
                    "an action finds earlier tasks: new_lead creates a lead", "new_lead"
                )
            if not given and action.key is None:
                raise ValidationError(
                    "say which tasks: a key, or an owner (lead, opportunity, contact, company)"
                )
        if not given and action is None:
            raise ValidationError(
                "say who owns the task: one of lead, opportunity, contact, company or new_lead"
            )
        if len(given) > 1:
            raise ValidationError(
                f"a task has exactly one owner; remove {', '.join(given[1:])} or {given[0]}",
                given[1],
            )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Rule:
        key = next((k for k in OWNER_KEYS if k in data), None)
        return Rule(
            name=data["name"],
            trigger=data["trigger"],
            task=data.get("task"),
            action=next((data[k] for k in ACTION_KEYS if k in data), None),
            owner=_owner_spec(key, data[key]) if key is not None else None,
            when=data["when"],
            venue=data["venue"],
            stop=data["stop"],
            description=data["description"],
        )


def _owner_spec(key: str, spec: dict[str, Any]) -> OwnerSpec:
    if key in ("lead", "opportunity"):
        return OwnerSpec(key, id=spec["id"], venue=spec.get("venue"))  # type: ignore[arg-type]
    if key == "contact":
        create = spec.get("create", False)
        return OwnerSpec(
            "contact",
            id=spec.get("id"),
            email=spec.get("email"),
            create_contact=bool(create),
            contact_fields=contact_templates(create) if create else {},
        )
    if key == "company":
        return OwnerSpec("company", id=spec.get("id"), business_name=spec.get("name"))
    contact = dict(spec["contact"])
    email = contact.pop("email")
    fields_ = contact_templates({})
    fields_.update(contact)
    lead_ids = {k: v for k, v in spec.items() if k.endswith("_id")}
    return OwnerSpec(
        "new_lead",
        email=email,
        create_contact=True,
        contact_fields=fields_,
        lead_name=spec["name"],
        lead_description=spec.get("description"),
        lead_ids=lead_ids,
    )
