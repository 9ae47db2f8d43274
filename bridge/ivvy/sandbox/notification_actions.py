"""Notification subscriptions: account- and venue-level subscribe and unsubscribe.

iVvy answers ``account?action=subscribeToNotifications`` with a success flag and an SNS topic
ARN per endpoint, and the unsubscribe actions with a result code per endpoint (1 Success,
2 Not Requested, 3 Unknown Error, 4 Not Found, 5 Incorrect Source, 6 Status Not Confirmed).
Only the account's primary user (or a key made without a user) may call the account-level
pair; others get 403.  A subscription starts unconfirmed, as an SNS subscription does until
its SubscribeURL is fetched; the sandbox's stand-in for that fetch is
``POST /_sandbox/subscriptions/<id>/confirm``.  The sandbox sends no notifications itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.ivvy.sandbox.body_fields import format_timestamp, int_field, require, str_field
from bridge.ivvy.sandbox.errors import ApiError, not_valid
from bridge.ivvy.sandbox.state import Record, SandboxState

# Endpoint names as they appear in the body keys (`crmEndpoint`) and answers (`crmTopicId`).
ENDPOINTS = ("events", "venues", "payments", "crm", "contacts", "companies", "ari")
TOPIC_SUFFIX = {
    "events": "Events",
    "venues": "Venues",
    "payments": "Payments",
    "crm": "Crm",
    "contacts": "Contacts",
    "companies": "Companies",
    "ari": "Ari",
}
TOPIC_PREFIX = "arn:aws:sns:ap-southeast-2:123456789012:"
ACCOUNT_TOPIC = TOPIC_PREFIX + "iVvy_Account_41_5b0x_Notif{suffix}"
VENUE_TOPIC = TOPIC_PREFIX + "iVvy_Venue_{venue_id}_Notif"

SUCCESS, NOT_REQUESTED, UNKNOWN_ERROR, NOT_FOUND, INCORRECT_SOURCE, NOT_CONFIRMED = range(1, 7)


@dataclass(frozen=True)
class Caller:
    """Who signed the call: the API key, and whether it is the primary user's (or userless)."""

    key: str
    primary: bool


def _is_https(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme == "https" and bool(parts.hostname)


def _endpoint_urls(body: dict[str, Any]) -> dict[str, str]:
    """``{endpoint name: url}`` for each ``<name>Endpoint`` key given (23016 when not a string)."""
    urls = {}
    for name in ENDPOINTS:
        url = str_field(body, f"{name}Endpoint")
        if url is not None and url.strip():
            urls[name] = url.strip()
    return urls


def _forbidden() -> ApiError:
    return ApiError(
        403,
        "Only the account's primary user, or an API key created without a user, may manage "
        "notification subscriptions",
    )


def _find(state: SandboxState, **wanted: Any) -> Record | None:
    for record in state.table("subscriptions").values():
        if all(record.get(name) == value for name, value in wanted.items()):
            return record
    return None


def _subscribe(
    state: SandboxState, scope: str, topic: str, url: str, caller: Caller, now: datetime
) -> Record:
    """The subscription of ``url`` to ``topic``: the existing one, or a new unconfirmed one."""
    found = _find(state, scope=scope, topicId=topic, endpoint=url)
    if found is not None:
        return found
    record = {
        "scope": scope,
        "topicId": topic,
        "endpoint": url,
        "apiKey": caller.key,
        "confirmed": False,
        "createdDate": format_timestamp(now),
    }
    return state.insert("subscriptions", record)


def _unsubscribe(state: SandboxState, scope: str, url: str, caller: Caller) -> int:
    found = _find(state, scope=scope, endpoint=url)
    if found is None:
        return NOT_FOUND
    if found["apiKey"] != caller.key:
        return INCORRECT_SOURCE
    if not found["confirmed"]:
        return NOT_CONFIRMED
    del state.table("subscriptions")[found["id"]]
    return SUCCESS


def account_subscribe(
    state: SandboxState, body: dict[str, Any], now: datetime, *, caller: Caller
) -> Any:
    """account.subscribeToNotifications: ``<name>Success`` and ``<name>TopicId`` per endpoint."""
    if not caller.primary:
        raise _forbidden()
    urls = _endpoint_urls(body)
    answer: dict[str, Any] = {}
    for name in ENDPOINTS:
        url = urls.get(name)
        topic = None
        if url is not None and _is_https(url):
            topic = ACCOUNT_TOPIC.format(suffix=TOPIC_SUFFIX[name])
            _subscribe(state, f"account:{name}", topic, url, caller, now)
        answer[f"{name}Success"] = topic is not None
        answer[f"{name}TopicId"] = topic
    return answer


def account_unsubscribe(
    state: SandboxState, body: dict[str, Any], now: datetime, *, caller: Caller
) -> Any:
    """account.unsubscribeFromNotifications: ``<name>Result`` (1 to 6) per endpoint."""
    if not caller.primary:
        raise _forbidden()
    urls = _endpoint_urls(body)
    return {
        f"{name}Result": (
            _unsubscribe(state, f"account:{name}", urls[name], caller)
            if name in urls
            else NOT_REQUESTED
        )
        for name in ENDPOINTS
    }


def _venue_request(state: SandboxState, body: dict[str, Any]) -> tuple[int, str, str | None]:
    """(venueId, endpoint, an error text or None) of a venue-level call; 23016/23017 as iVvy."""
    require(body, "venueId", "endpoint")
    venue_id = int_field(body, "venueId")
    url = str_field(body, "endpoint")
    assert venue_id is not None and url is not None  # require() checked both
    if state.get("venues", venue_id) is None:
        return venue_id, url, "The API key has no access to this venue"
    if not _is_https(url):
        raise not_valid("endpoint", "The endpoint must be an https URL")
    return venue_id, url.strip(), None


def venue_subscribe(
    state: SandboxState, body: dict[str, Any], now: datetime, *, caller: Caller
) -> Any:
    """venue.subscribeToNotifications: ``{"success", "topicId", "error"}``."""
    venue_id, url, error = _venue_request(state, body)
    if error is None:
        taken = _find(state, endpoint=url)
        if taken is not None and taken["scope"] != f"venue:{venue_id}":
            error = "The endpoint is already used by another subscription"
    if error is not None:
        return {"success": False, "topicId": None, "error": error}
    topic = VENUE_TOPIC.format(venue_id=venue_id)
    _subscribe(state, f"venue:{venue_id}", topic, url, caller, now)
    return {"success": True, "topicId": topic, "error": None}


def venue_unsubscribe(
    state: SandboxState, body: dict[str, Any], now: datetime, *, caller: Caller
) -> Any:
    """venue.unsubscribeFromNotification (singular, as iVvy names it): ``{"result": 1..6}``."""
    venue_id, url, error = _venue_request(state, body)
    if error is not None:
        return {"result": NOT_FOUND}
    return {"result": _unsubscribe(state, f"venue:{venue_id}", url, caller)}


def confirm(state: SandboxState, subscription_id: int) -> Record | None:
    """Mark a subscription confirmed (what fetching SNS's SubscribeURL does); None if unknown."""
    with state.lock:
        found = state.get("subscriptions", subscription_id)
        if found is not None:
            found["confirmed"] = True
        return found
