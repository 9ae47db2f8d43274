"""bridge.ivvy.subscriptions against answers the sandbox never gives: result 3, odd shapes."""

from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Response

from bridge.ivvy import subscriptions as subs
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError

KEY, SECRET = "testkey", "testsecret"
URL = "https://bridge.example/hooks/ivvy"


def answer(payload: object) -> Response:
    return Response(json.dumps(payload), status=200, content_type="application/json")


def test_every_result_code_has_words_and_unknown_ones_say_so() -> None:
    for code in range(1, 7):
        assert subs.Unsubscribed("crm", code).meaning == subs.UNSUBSCRIBE_RESULTS[code]
    assert subs.Unsubscribed("crm", 9).meaning == "unknown result code 9"
    assert subs.Unsubscribed("crm", None).meaning == "iVvy gave no result for this feed"
    assert [subs.Unsubscribed("crm", c).ok for c in range(1, 7)] == [True, True] + [False] * 4


def test_an_unknown_error_and_a_missing_result(raw_server) -> None:
    server = raw_server(lambda request: answer({"crmResult": "3", "venuesResult": None}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        found = subs.unsubscribe_account(client, URL, ("crm", "venues"))
    assert [(r.endpoint, r.result) for r in found] == [("crm", 3), ("venues", None)]
    assert "unknown error" in found[0].meaning
    sent = server.seen[0]
    assert sent.target == "/api/1.0/account?action=unsubscribeFromNotifications"
    assert sent.json() == {"crmEndpoint": URL, "venuesEndpoint": URL}


def test_a_success_without_a_topic_is_not_a_subscription(raw_server) -> None:
    server = raw_server(lambda request: answer({"crmSuccess": True, "crmTopicId": None}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        (found,) = subs.subscribe_account(client, URL, ("crm",))
    assert (found.topic, found.error) == (None, "iVvy did not subscribe this feed")


def test_a_venue_refusal_carries_ivvys_text(raw_server) -> None:
    refusal = {"success": False, "topicId": None, "error": "Endpoint already in use"}
    server = raw_server(lambda request: answer(refusal))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        found = subs.subscribe_venue(client, URL, 12)
    assert (found.endpoint, found.topic, found.error) == (
        "venue 12",
        None,
        "Endpoint already in use",
    )
    assert server.seen[0].json() == {"venueId": 12, "endpoint": URL}


def test_an_answer_that_is_not_an_object_is_an_error(raw_server) -> None:
    server = raw_server(lambda request: answer([1, 2]))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError):
        subs.unsubscribe_venue(client, URL, 12)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("crm", ("crm",)),
        (" CRM, venues ,crm", ("crm", "venues")),
        ("ari,events", ("ari", "events")),
    ],
)
def test_endpoints_are_parsed(text: str, parsed: tuple[str, ...]) -> None:
    assert subs.parse_endpoints(text) == parsed


@pytest.mark.parametrize("text", ["", " , ", "crm,bookings"])
def test_unknown_endpoints_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        subs.parse_endpoints(text)
