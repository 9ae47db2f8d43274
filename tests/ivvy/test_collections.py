"""Paging through collections and the typed CRM helpers, against a small collection server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import IvvyError

KEY, SECRET = "testkey", "testsecret"


def answer(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def collection_of(items: list[dict[str, Any]], cap: int = 100):
    """A responder paging ``items`` like iVvy: perPage clamped to ``cap``, start as offset."""

    def respond(request: Request) -> Response:
        body = request.get_json()
        start, per_page = body["start"], min(body["perPage"], cap)
        page = items[start : start + per_page]
        meta = {"totalResults": len(items), "start": start, "perPage": per_page, "count": len(page)}
        return answer({"meta": meta, "results": page})

    return respond


def sent_bodies(server) -> list[Any]:
    return [seen.json() for seen in server.seen]


def test_paging_follows_the_servers_page_size(raw_server):
    items = [{"id": i} for i in range(7)]
    server = raw_server(collection_of(items, cap=3))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert list(client.iter_collection("crm", "getLeadList")) == items
    assert [b["start"] for b in sent_bodies(server)] == [0, 3, 6]
    assert {b["perPage"] for b in sent_bodies(server)} == {100}


def test_paging_stops_on_an_empty_page_even_if_the_total_says_more(raw_server):
    def lying_total(request: Request) -> Response:
        start = request.get_json()["start"]
        page = [{"id": 1}, {"id": 2}] if start == 0 else []
        meta = {"totalResults": 10, "start": start, "perPage": 2, "count": len(page)}
        return answer({"meta": meta, "results": page})

    server = raw_server(lying_total)
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert len(list(client.iter_collection("crm", "getLeadList", per_page=2))) == 2
    assert len(server.seen) == 2


def test_paging_keeps_the_callers_body_and_exact_page_bytes(raw_server):
    server = raw_server(collection_of([]))
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    body = {"filter": {"email": "Jane.Doe@Example.com"}}
    with IvvyClient(KEY, SECRET, base_url=server.url, clock=lambda: moment) as client:
        assert list(client.iter_collection("contact", "getContactList", body, per_page=10)) == []
    (seen,) = server.seen
    # A signature computed independently (Python's hmac) for this exact request, checked
    # through the whole client.
    assert seen.body == b'{"filter":{"email":"Jane.Doe@Example.com"},"perPage":10,"start":0}'
    assert seen.headers["X-Api-Authorization"] == (
        "IWS testkey:db8078d90bea7c8ec339d5999c28c65121b34322"
    )
    assert body == {"filter": {"email": "Jane.Doe@Example.com"}}  # not mutated


def test_an_answer_that_is_not_a_collection_is_an_error(raw_server):
    server = raw_server(lambda request: answer({"ack": "x"}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.get_venue_list()
    assert caught.value.retryable is False


def test_get_task_list_sends_filter_and_venue(raw_server):
    server = raw_server(collection_of([{"id": 1, "name": "Call back"}]))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        tasks = client.get_task_list({"name__CONTAINS": "Call"}, venue_id=12)
    assert tasks == [{"id": 1, "name": "Call back"}]
    assert server.seen[0].target == "/api/1.0/crm?action=getTaskList"
    assert server.seen[0].json() == {
        "venueId": 12,
        "filter": {"name__CONTAINS": "Call"},
        "perPage": 100,
        "start": 0,
    }


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("get_contact_list", "/api/1.0/contact?action=getContactList"),
        ("get_lead_list", "/api/1.0/crm?action=getLeadList"),
        ("get_company_list", "/api/1.0/contact?action=getCompanyList"),
        ("get_user_list", "/api/1.0/account?action=getUserList"),
        ("get_venue_list", "/api/1.0/venue?action=getVenueList"),
    ],
)
def test_list_helpers_call_their_action(raw_server, method, target):
    server = raw_server(collection_of([{"id": 3}]))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert getattr(client, method)({"id": 3}) == [{"id": 3}]
    assert server.seen[0].target == target
    assert server.seen[0].json()["filter"] == {"id": 3}


def test_find_contacts_by_email_rechecks_case_insensitively(raw_server):
    contacts = [
        {"id": 1, "email": "jane.doe@example.com"},
        {"id": 2, "email": "Jane.Doe@Example.COM"},
        {"id": 3, "email": "jane.doe@example.com.au"},  # a looser server match
        {"id": 4, "email": None},
    ]
    server = raw_server(collection_of(contacts))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        found = client.find_contacts_by_email(" Jane.Doe@example.com ")
    assert [c["id"] for c in found] == [1, 2]
    assert server.seen[0].json()["filter"] == {"email": "Jane.Doe@example.com"}


def test_find_companies_by_name_rechecks_case_insensitively(raw_server):
    companies = [{"id": 1, "businessName": "Acme Pty Ltd"}, {"id": 2, "businessName": "Acme"}]
    server = raw_server(collection_of(companies))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert [c["id"] for c in client.find_companies_by_name("ACME")] == [2]
    assert server.seen[0].json()["filter"] == {"businessName": "ACME"}


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("add_or_update_task", "/api/1.0/crm?action=addOrUpdateTask"),
        ("add_or_update_contact", "/api/1.0/contact?action=addOrUpdateContact"),
        ("add_or_update_lead", "/api/1.0/contact?action=addOrUpdateLead"),
    ],
)
def test_add_or_update_returns_the_id(raw_server, method, target):
    server = raw_server(lambda request: answer({"success": True, "id": 755}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert getattr(client, method)({"name": "x"}) == 755
    assert server.seen[0].target == target


def test_update_answer_with_only_an_id_is_accepted(raw_server):
    server = raw_server(lambda request: answer({"id": "33884"}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert client.add_or_update_contact({"id": 33884, "phone": "0455550000"}) == 33884


def test_success_false_is_a_permanent_error(raw_server):
    server = raw_server(lambda request: answer({"success": False, "message": "Invalid lead"}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.add_or_update_lead({"name": "x"})
    assert caught.value.message == "Invalid lead"
    assert (caught.value.retryable, caught.value.maybe_committed) == (False, False)


def test_a_write_answered_without_an_id_may_have_committed(raw_server):
    server = raw_server(lambda request: answer({"success": True}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.add_or_update_task({"name": "x"})
    assert (caught.value.retryable, caught.value.maybe_committed) == (True, True)
