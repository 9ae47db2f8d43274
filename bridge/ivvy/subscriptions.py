"""iVvy's notification subscriptions, account- and venue-level, through the signing client.

Account level: ``account?action=subscribeToNotifications`` takes one ``<name>Endpoint`` key per
feed and answers ``<name>Success`` and ``<name>TopicId`` (the SNS topic ARN) for every feed;
``account?action=unsubscribeFromNotifications`` answers ``<name>Result``, a code 1 to 6.
Venue level: ``venue?action=subscribeToNotifications`` with ``venueId`` and ``endpoint``
answers ``success``, ``topicId`` and ``error``; ``venue?action=unsubscribeFromNotification``
(singular) answers ``result``.  Only the primary user's key (or a key made without a user)
may call the account-level pair: iVvy answers 403 to any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError, int_or_none

# iVvy's feeds, in the order its answers list them.
ENDPOINTS = ("crm", "venues", "payments", "contacts", "companies", "events", "ari")
ENDPOINT_CONTENTS = {
    "crm": "leads, opportunities, tasks and activities",
    "venues": "bookings",
    "payments": "invoices and payments",
    "contacts": "contacts",
    "companies": "companies",
    "events": "events and registrations",
    "ari": "accommodation availability, rates and inventory",
}
DEFAULT_ENDPOINTS = ("crm", "venues", "payments")

# What each unsubscribe result code means, in words an operator can act on.
UNSUBSCRIBE_RESULTS = {
    1: "unsubscribed",
    2: "not requested (this feed was not part of the request)",
    3: "iVvy reported an unknown error; try again later, or ask iVvy support",
    4: "not found: this URL has no subscription to this feed",
    5: "incorrect source: the subscription was made with another API key; unsubscribe with "
    "that key",
    6: "not confirmed: the subscription was never confirmed (SNS's SubscribeURL was not "
    "fetched); confirm it first, then unsubscribe",
}
FORBIDDEN_HINT = (
    "iVvy refused (403): only the account's primary user, or an API key created without a "
    "user, may manage notification subscriptions; use such a key"
)


@dataclass(frozen=True)
class Subscribed:
    """One feed's answer to a subscribe call: its topic ARN, or why there is none."""

    endpoint: str  # a feed name, or "venue <id>"
    topic: str | None
    error: str | None = None


@dataclass(frozen=True)
class Unsubscribed:
    """One feed's answer to an unsubscribe call: the result code and its meaning."""

    endpoint: str
    result: int | None

    @property
    def meaning(self) -> str:
        """The result code in words."""
        if self.result is None:
            return "iVvy gave no result for this feed"
        return UNSUBSCRIBE_RESULTS.get(self.result, f"unknown result code {self.result}")

    @property
    def ok(self) -> bool:
        """Unsubscribed, or nothing was asked of this feed."""
        return self.result in (1, 2)


def parse_endpoints(text: str) -> tuple[str, ...]:
    """``crm,venues`` as feed names, checked; ValueError naming the unknown ones."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in ENDPOINTS]
    if unknown or not names:
        raise ValueError(
            f"unknown endpoint {', '.join(unknown) or '(none given)'}; "
            f"choose among {', '.join(ENDPOINTS)}"
        )
    return names


def _object(answer: Any, action: str, namespace: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise IvvyError("answer is not an object", namespace=namespace, action=action)
    return answer


def subscribe_account(client: IvvyClient, url: str, endpoints: tuple[str, ...]) -> list[Subscribed]:
    """Subscribe ``url`` to each feed; one :class:`Subscribed` per feed asked for."""
    body = {f"{name}Endpoint": url for name in endpoints}
    action = "subscribeToNotifications"
    answer = _object(client.call("account", action, body), action, "account")
    found = []
    for name in endpoints:
        topic = answer.get(f"{name}TopicId")
        if answer.get(f"{name}Success") is True and isinstance(topic, str) and topic:
            found.append(Subscribed(name, topic))
        else:
            found.append(Subscribed(name, None, "iVvy did not subscribe this feed"))
    return found


def unsubscribe_account(
    client: IvvyClient, url: str, endpoints: tuple[str, ...]
) -> list[Unsubscribed]:
    """Unsubscribe ``url`` from each feed; one :class:`Unsubscribed` per feed asked for."""
    body = {f"{name}Endpoint": url for name in endpoints}
    action = "unsubscribeFromNotifications"
    answer = _object(client.call("account", action, body), action, "account")
    return [Unsubscribed(name, int_or_none(answer.get(f"{name}Result"))) for name in endpoints]


def subscribe_venue(client: IvvyClient, url: str, venue_id: int) -> Subscribed:
    """Subscribe ``url`` to one venue's notifications."""
    action = "subscribeToNotifications"
    body = {"venueId": venue_id, "endpoint": url}
    answer = _object(client.call("venue", action, body), action, "venue")
    topic = answer.get("topicId")
    if answer.get("success") is True and isinstance(topic, str) and topic:
        return Subscribed(f"venue {venue_id}", topic)
    error = answer.get("error")
    return Subscribed(f"venue {venue_id}", None, str(error) if error else "iVvy said no")


def unsubscribe_venue(client: IvvyClient, url: str, venue_id: int) -> Unsubscribed:
    """Unsubscribe ``url`` from one venue's notifications."""
    action = "unsubscribeFromNotification"  # singular, as iVvy names it
    body = {"venueId": venue_id, "endpoint": url}
    answer = _object(client.call("venue", action, body), action, "venue")
    return Unsubscribed(f"venue {venue_id}", int_or_none(answer.get("result")))
