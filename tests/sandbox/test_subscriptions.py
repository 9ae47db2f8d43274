"""Notification subscriptions in the sandbox: account and venue level, result codes 1 to 6, 403.

The sandbox here knows two keys: the primary user's (``primary-key``) and an ordinary user's
(``staff-key``), which iVvy refuses (403) at the account-level subscription actions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.ivvy.sandbox import SandboxServer
from tests.sandbox.conftest import ApiCaller, Inspector

URL = "https://bridge.example/hooks/ivvy"
OTHER_URL = "https://bridge.example/hooks/other"
FEEDS = ("events", "venues", "payments", "crm", "contacts", "companies", "ari")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    credentials = {"primary-key": "primary-secret", "staff-key": "staff-secret"}
    with SandboxServer(credentials=credentials, primary_keys=frozenset({"primary-key"})) as made:
        yield made


@pytest.fixture
def primary(server: SandboxServer) -> ApiCaller:
    return ApiCaller(server.url, "primary-key", "primary-secret")


@pytest.fixture
def staff(server: SandboxServer) -> ApiCaller:
    return ApiCaller(server.url, "staff-key", "staff-secret")


@pytest.fixture
def inspector(server: SandboxServer) -> Inspector:
    return Inspector(server.url)


def confirm_all(inspector: Inspector) -> None:
    for subscription in inspector.get("subscriptions"):
        assert inspector.post(f"subscriptions/{subscription['id']}/confirm").status_code == 200


def test_account_subscribe_answers_every_feed_and_a_topic_for_those_asked(primary, inspector):
    answer = primary.ok(
        "account", "subscribeToNotifications", {"crmEndpoint": URL, "venuesEndpoint": URL}
    )
    assert set(answer) == {f"{feed}{part}" for feed in FEEDS for part in ("Success", "TopicId")}
    assert answer["crmSuccess"] is True and answer["venuesSuccess"] is True
    assert answer["crmTopicId"].startswith("arn:aws:sns:")
    assert answer["crmTopicId"].endswith("_NotifCrm")
    assert answer["venuesTopicId"].endswith("_NotifVenues")
    assert answer["paymentsSuccess"] is False and answer["paymentsTopicId"] is None
    stored = inspector.get("subscriptions")
    assert sorted(s["scope"] for s in stored) == ["account:crm", "account:venues"]
    assert all(s["endpoint"] == URL and s["confirmed"] is False for s in stored)
    # Subscribing again gives the same topic and no second subscription.
    again = primary.ok("account", "subscribeToNotifications", {"crmEndpoint": URL})
    assert again["crmTopicId"] == answer["crmTopicId"]
    assert len(inspector.get("subscriptions")) == 2


def test_account_subscribe_refuses_a_plain_http_endpoint(primary, inspector):
    answer = primary.ok("account", "subscribeToNotifications", {"crmEndpoint": "http://x/hooks/a"})
    assert (answer["crmSuccess"], answer["crmTopicId"]) == (False, None)
    assert inspector.get("subscriptions") == []


def test_unsubscribe_result_codes(server, primary, inspector):
    primary.ok("account", "subscribeToNotifications", {"crmEndpoint": URL, "venuesEndpoint": URL})
    # 6: not confirmed yet; 4: no subscription of this URL; 2: not asked.
    answer = primary.ok(
        "account",
        "unsubscribeFromNotifications",
        {"crmEndpoint": URL, "paymentsEndpoint": URL},
    )
    assert answer == {f"{feed}Result": 2 for feed in FEEDS} | {"crmResult": 6, "paymentsResult": 4}
    confirm_all(inspector)
    answer = primary.ok("account", "unsubscribeFromNotifications", {"crmEndpoint": URL})
    assert answer["crmResult"] == 1
    assert [s["scope"] for s in inspector.get("subscriptions")] == ["account:venues"]
    # Gone: a second try finds nothing.
    answer = primary.ok("account", "unsubscribeFromNotifications", {"crmEndpoint": URL})
    assert answer["crmResult"] == 4


def test_another_primary_key_gets_incorrect_source(server, inspector):
    credentials = {"one": "secret-one", "two": "secret-two"}
    with SandboxServer(credentials=credentials) as both_primary:
        one = ApiCaller(both_primary.url, "one", "secret-one")
        two = ApiCaller(both_primary.url, "two", "secret-two")
        one.ok("account", "subscribeToNotifications", {"crmEndpoint": URL})
        answer = two.ok("account", "unsubscribeFromNotifications", {"crmEndpoint": URL})
        assert answer["crmResult"] == 5


@pytest.mark.parametrize("action", ["subscribeToNotifications", "unsubscribeFromNotifications"])
def test_a_key_that_is_not_the_primary_users_gets_403(staff, inspector, action):
    status, answer = staff.call("account", action, {"crmEndpoint": URL})
    assert status == 403
    assert answer["errorCode"] == 403
    assert "primary user" in answer["message"]
    assert inspector.get("subscriptions") == []


def test_venue_subscription(primary, staff, inspector):
    answer = primary.ok("venue", "subscribeToNotifications", {"venueId": 1, "endpoint": URL})
    assert answer["success"] is True and answer["error"] is None
    assert answer["topicId"].startswith("arn:aws:sns:")
    # Any key with access to the venue may subscribe; only the subscribing key unsubscribes.
    answer = staff.ok("venue", "unsubscribeFromNotification", {"venueId": 1, "endpoint": URL})
    assert answer == {"result": 5}
    answer = primary.ok("venue", "unsubscribeFromNotification", {"venueId": 1, "endpoint": URL})
    assert answer == {"result": 6}
    confirm_all(inspector)
    answer = primary.ok("venue", "unsubscribeFromNotification", {"venueId": 1, "endpoint": URL})
    assert answer == {"result": 1}
    assert inspector.get("subscriptions") == []


def test_venue_subscription_refusals(primary, inspector):
    unknown = primary.ok("venue", "subscribeToNotifications", {"venueId": 99, "endpoint": URL})
    assert unknown["success"] is False and unknown["topicId"] is None
    assert "access" in unknown["error"]
    primary.ok("account", "subscribeToNotifications", {"crmEndpoint": OTHER_URL})
    taken = primary.ok("venue", "subscribeToNotifications", {"venueId": 1, "endpoint": OTHER_URL})
    assert taken["success"] is False and "already used" in taken["error"]
    assert primary.error("venue", "subscribeToNotifications", {"venueId": 1}) == (400, 23017)
    plain = {"venueId": 1, "endpoint": "http://bridge.example/hooks/ivvy"}
    assert primary.error("venue", "subscribeToNotifications", plain) == (400, 23016)
    # The singular is iVvy's name; the plural does not exist at venue level.
    status, _ = primary.call("venue", "unsubscribeFromNotifications", {"venueId": 1})
    assert status == 501
