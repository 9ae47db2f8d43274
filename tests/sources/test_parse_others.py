"""Parsing Calendly, Formspree, Standard Webhooks and plain form posts; malformed payloads."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest

from bridge.sources.base import Accepted, InboundRequest, PayloadInvalid

WHSEC = "whsec_" + base64.b64encode(b"k" * 24).decode()
INVITEE_URI = "https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA/invitees/AAAAAAAAAAAAAAAA"


def _json_request(body: bytes | dict, headers: dict | None = None) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundRequest(raw, headers or {}, content_type="application/json")


def _parse(source, request, now) -> Accepted:
    accepted = source.parse(request, now)
    assert isinstance(accepted, Accepted)
    return accepted


def test_calendly_sample(make_source, sample, now):
    body = sample("calendly-invitee-created.json")
    accepted = _parse(make_source("calendly", secret="s"), _json_request(body), now)
    event = accepted.event
    assert (event.kind, event.external_id) == ("invitee.created", INVITEE_URI)
    assert accepted.dedupe_key == f"id:invitee.created:{INVITEE_URI}"
    assert event.fields == {
        "first_name": "John",
        "last_name": "Doe",
        "name": "John Doe",
        "email": "test@example.com",
    }
    assert event.answers["scheduled_event_start_time"] == "2019-08-24T14:15:22.123456Z"
    assert event.answers["scheduled_event_name"] == "15 Minute Meeting"
    assert event.answers["timezone"] == "America/New_York"


def test_calendly_questions_phone_and_cancellation(make_source, sample, now):
    payload = json.loads(sample("calendly-invitee-created.json"))
    payload["event"] = "invitee.canceled"
    invitee = payload["payload"]
    invitee.update(first_name="Jo", last_name="Dee", text_reminder_number="+61 400 000 000")
    invitee["questions_and_answers"] = [
        {"question": "What would you like to discuss?", "answer": "A wedding", "position": 0},
        {"question": "Message", "answer": "Saturdays only", "position": 1},
    ]
    invitee["cancellation"] = {"canceled_by": "John Doe", "reason": "Clash"}
    invitee["tracking"]["utm_source"] = "newsletter"
    accepted = _parse(make_source("calendly", secret="s"), _json_request(payload), now)
    event = accepted.event
    assert event.kind == "invitee.canceled"
    assert accepted.dedupe_key == f"id:invitee.canceled:{INVITEE_URI}"
    assert event.fields == {
        "first_name": "Jo",
        "last_name": "Dee",
        "name": "John Doe",
        "email": "test@example.com",
        "phone": "+61 400 000 000",
        "message": "Saturdays only",
    }
    assert event.answers["what_would_you_like_to_discuss"] == "A wedding"
    assert event.answers["cancel_reason"] == "Clash"
    assert event.answers["utm_source"] == "newsletter"


@pytest.mark.parametrize(
    "payload",
    [
        {
            "form": "xqkvbnlp",
            "submission": {
                "_id": "sub_1",
                "name": "Ada Lovelace",
                "email": "a@b.c",
                "message": "Hi",
            },
        },
        {"_id": "sub_1", "name": "Ada Lovelace", "email": "a@b.c", "message": "Hi"},
    ],
    ids=["nested", "flat"],
)
def test_formspree_submitted_fields(payload, make_source, now):
    accepted = _parse(make_source("formspree", secret="s"), _json_request(payload), now)
    event = accepted.event
    assert (event.kind, event.external_id, accepted.dedupe_key) == (
        "submission",
        "sub_1",
        "id:sub_1",
    )
    assert event.fields == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "email": "a@b.c",
        "message": "Hi",
    }


def test_formspree_reply_to_is_the_email(make_source, now):
    payload = {"_replyto": "ada@example.com", "comments": "Call me"}
    event = _parse(make_source("formspree", secret="s"), _json_request(payload), now).event
    assert event.fields == {"email": "ada@example.com", "message": "Call me"}


def test_standard_webhooks_payload(make_source, now):
    payload = {
        "type": "user.created",
        "timestamp": "2026-03-02T09:29:59Z",
        "data": {
            "id": "user_29w83sxmDNGwOuEthce5gg56FcC",
            "first_name": "Grace",
            "last_name": "Hopper",
            "contact": {"email": "grace@example.com", "phone": "+1 555 0100"},
            "tags": ["vip"],
        },
    }
    request = _json_request(payload, {"webhook-id": "msg_abc"})
    accepted = _parse(make_source("standard-webhooks", secret=WHSEC), request, now)
    event = accepted.event
    assert (event.kind, event.external_id, accepted.dedupe_key) == (
        "user.created",
        "msg_abc",
        "id:msg_abc",
    )
    assert event.data == payload["data"]
    assert event.answers["contact_email"] == "grace@example.com"
    assert event.answers["tags"] == ["vip"]
    assert event.fields == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+1 555 0100",
    }


def test_standard_webhooks_payload_without_type_or_data(make_source, vectors, now):
    body = vectors["standard-webhooks-sign"]["body"].encode()
    event = _parse(make_source("standard-webhooks", secret=WHSEC), _json_request(body), now).event
    assert (event.kind, event.answers, event.raw) == ("webhook", {}, {"test": 2432232314})


@pytest.mark.parametrize("encoding", ["json", "urlencoded"])
def test_form_posts(encoding, make_source, now):
    values = {
        "id": "f-1",
        "kind": "enquiry",
        "First Name": "Alan",
        "Surname": "Turing",
        "Email": "alan@example.com",
        "Your message": "Hello",
    }
    if encoding == "json":
        request = _json_request(values)
    else:
        request = InboundRequest(
            urlencode(values).encode(), {}, content_type="application/x-www-form-urlencoded"
        )
    accepted = _parse(make_source("form", token="t"), request, now)
    event = accepted.event
    assert (event.kind, event.external_id, accepted.dedupe_key) == ("enquiry", "f-1", "id:f-1")
    assert event.fields == {
        "first_name": "Alan",
        "last_name": "Turing",
        "name": "Alan Turing",
        "email": "alan@example.com",
        "message": "Hello",
    }
    assert event.answers["Your message"] == "Hello"


def test_a_form_post_without_id_dedupes_on_the_body(make_source, now):
    accepted = _parse(make_source("form", token="t"), _json_request({"email": "a@b.c"}), now)
    assert accepted.dedupe_key.startswith("sha256:")
    assert accepted.event.kind == "submission"


@pytest.mark.parametrize(
    ("type_name", "options", "name"),
    [
        ("typeform", {"secret": "s"}, "typeform.json"),
        ("tally", {"secret": "s"}, "tally.json"),
        ("webflow", {"secret": "s"}, "webflow-form-submission.json"),
        ("calendly", {"secret": "s"}, "calendly-invitee-created.json"),
    ],
)
def test_unknown_fields_are_kept(type_name, options, name, make_source, sample, now):
    payload = json.loads(sample(name))
    payload["added_by_a_new_api_version"] = {"nested": True}
    event = _parse(make_source(type_name, **options), _json_request(payload), now).event
    assert event.raw["added_by_a_new_api_version"] == {"nested": True}


SECRETISH = "jane.secret@example.com"
MALFORMED = [
    ("typeform", b"not json"),
    ("typeform", b"[1, 2]"),
    ("typeform", json.dumps({"event_id": "x", "event_type": "form_response"}).encode()),
    (
        "typeform",
        json.dumps(
            {
                "event_id": "x",
                "event_type": "t",
                "form_response": {"answers": [{"text": SECRETISH}]},
            }
        ).encode(),
    ),
    ("tally", json.dumps({"eventType": "FORM_RESPONSE", "data": {"fields": []}}).encode()),
    (
        "tally",
        json.dumps(
            {
                "eventId": "e",
                "eventType": "F",
                "data": {"fields": [{"label": "x", "value": SECRETISH}]},
            }
        ).encode(),
    ),
    ("webflow", json.dumps({"triggerType": "form_submission", "payload": {"data": {}}}).encode()),
    (
        "calendly",
        json.dumps({"event": "invitee.created", "payload": {"email": SECRETISH}}).encode(),
    ),
    ("standard-webhooks", json.dumps({"type": 5, "data": {"email": SECRETISH}}).encode()),
    ("formspree", b"\xff\xfe"),
    ("form", b'"just a string"'),
    ("hmac", b"{"),
]
OPTIONS = {
    "typeform": {"secret": "s"},
    "tally": {"secret": "s"},
    "webflow": {"secret": "s"},
    "calendly": {"secret": "s"},
    "formspree": {"secret": "s"},
    "standard-webhooks": {"secret": WHSEC},
    "form": {"token": "t"},
    "hmac": {"secret": "s", "header": "X-Sig"},
}


@pytest.mark.parametrize(("type_name", "body"), MALFORMED)
def test_malformed_payloads_are_invalid_with_a_safe_message(type_name, body, make_source, now):
    with pytest.raises(PayloadInvalid) as failure:
        make_source(type_name, **OPTIONS[type_name]).parse(_json_request(body), now)
    assert SECRETISH not in str(failure.value)
    assert "jane" not in str(failure.value)


@pytest.mark.parametrize(
    ("form", "content_type"),
    [
        ({"formID": "1", "rawRequest": "{}"}, None),  # no submissionID
        ({"submissionID": "1"}, None),  # no rawRequest
        ({"submissionID": "1", "rawRequest": "not json"}, None),
        ({"submissionID": "1", "rawRequest": "[1]"}, None),
        ({"submissionID": "1", "rawRequest": "{}"}, "multipart/form-data"),  # no boundary
    ],
)
def test_malformed_jotform_deliveries(form, content_type, make_source, now):
    boundary = "b0undary"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in form.items()
        )
        + f"--{boundary}--\r\n"
    )
    header = content_type or f"multipart/form-data; boundary={boundary}"
    request = InboundRequest(
        body.encode(), {"content-type": header}, content_type="multipart/form-data"
    )
    with pytest.raises(PayloadInvalid):
        make_source("jotform", token="t").parse(request, now)
