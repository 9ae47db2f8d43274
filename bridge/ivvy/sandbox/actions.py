"""The table of iVvy actions the sandbox answers, by (namespace, action)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bridge.ivvy.sandbox import contact_actions, lead_actions, notification_actions, task_actions
from bridge.ivvy.sandbox.body_fields import format_timestamp
from bridge.ivvy.sandbox.collections import page_of
from bridge.ivvy.sandbox.notification_actions import Caller
from bridge.ivvy.sandbox.state import SandboxState

# Called with the state's lock held; returns the JSON answer or raises ApiError.
Handler = Callable[[SandboxState, dict[str, Any], datetime], Any]
# The same, for actions whose answer depends on who signed the call (keyword ``caller``).
CallerHandler = Callable[..., Any]


def ping(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """test.ping: ``{"ack": "<server timestamp>"}``."""
    return {"ack": format_timestamp(now)}


def get_user_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """account.getUserList; a ``venueId`` (filter or top level) is accepted and ignored."""
    special = {"venueId": lambda record, wanted: True}
    return page_of(state.records("users"), body, special=special)


def get_venue_list(state: SandboxState, body: dict[str, Any], now: datetime) -> Any:
    """venue.getVenueList."""
    return page_of(state.records("venues"), body)


ACTIONS: dict[tuple[str, str], Handler] = {
    ("test", "ping"): ping,
    ("account", "getUserList"): get_user_list,
    ("venue", "getVenueList"): get_venue_list,
    ("contact", "getContactList"): contact_actions.get_contact_list,
    ("contact", "getContact"): contact_actions.get_contact,
    ("contact", "addOrUpdateContact"): contact_actions.add_or_update_contact,
    ("contact", "getCompanyList"): contact_actions.get_company_list,
    ("contact", "addOrUpdateCompany"): contact_actions.add_or_update_company,
    ("contact", "addOrUpdateLead"): lead_actions.add_or_update_lead,
    ("crm", "addOrUpdateTask"): task_actions.add_or_update_task,
    ("crm", "getTaskList"): task_actions.get_task_list,
    ("crm", "getLeadList"): lead_actions.get_lead_list,
    ("crm", "getOpportunityList"): lead_actions.get_opportunity_list,
}
CALLER_ACTIONS: dict[tuple[str, str], CallerHandler] = {
    ("account", "subscribeToNotifications"): notification_actions.account_subscribe,
    ("account", "unsubscribeFromNotifications"): notification_actions.account_unsubscribe,
    ("venue", "subscribeToNotifications"): notification_actions.venue_subscribe,
    # Singular, as iVvy names the venue-level action.
    ("venue", "unsubscribeFromNotification"): notification_actions.venue_unsubscribe,
}
# Namespaces iVvy has; an action the sandbox does not model there answers 501, elsewhere 404.
KNOWN_NAMESPACES = frozenset(
    {"test", "account", "venue", "contact", "crm", "event", "batch", "invoice", "subscription"}
)


def find_action(namespace: str, action: str, caller: Caller) -> Handler | None:
    """The handler for ``namespace?action=action`` (names matched exactly, as documented)."""
    with_caller = CALLER_ACTIONS.get((namespace, action))
    if with_caller is not None:
        return functools.partial(with_caller, caller=caller)
    return ACTIONS.get((namespace, action))
