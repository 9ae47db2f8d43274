"""Parsing the form senders' real samples: kind, ids, dedupe keys, common fields, answers."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bridge.sources.base import Accepted, InboundRequest

JOTFORM_BOUNDARY = "------------------------J1JNT4vbVO4FCC1qLG4HSv"


def _json_request(body: bytes | dict) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundRequest(
        raw, {"content-type": "application/json"}, content_type="application/json"
    )


def _parse(source, request, now) -> Accepted:
    accepted = source.parse(request, now)
    assert isinstance(accepted, Accepted)
    assert accepted.event.received_at == now
    assert accepted.event.source == "test-source"
    return accepted


def test_typeform_sample(make_source, sample, now):
    body = sample("typeform.json")
    accepted = _parse(make_source("typeform", secret="s"), _json_request(body), now)
    event = accepted.event
    assert (event.kind, event.external_id, event.source_type) == (
        "form_response",
        "LtWXD3crgy",
        "typeform",
    )
    assert accepted.dedupe_key == "id:LtWXD3crgy"
    assert event.fields == {"first_name": "Laura", "name": "Laura", "email": "laura@example.com"}
    assert event.raw == json.loads(body)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("readable_ref_short_text", "Laura"),
        ("what_is_your_first_name", "Laura"),
        ("readable_ref_email", "laura@example.com"),
        ("readable_ref_date", "2005-10-15"),
        ("readable_ref_picture_choice", ["London", "Sydney"]),
        ("readable_ref_multiple_choice", "London"),
        ("which_of_these_cities_is_your_favorite", "London"),
        ("readable_ref_number1", 5),
        ("readable_ref_legal", True),
        ("readable_ref_yes_no", False),
        ("do_you_have_a_favorite_city_we_haven_t_listed", False),
        ("readable_ref_rating", 3),
        (
            "readable_ref_calendly",
            "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE",
        ),
        ("user_id", "abc123456"),  # a hidden field
    ],
)
def test_typeform_answers_by_ref_and_title(key, value, make_source, sample, now):
    event = _parse(make_source("typeform", secret="s"), _json_request(sample("typeform.json")), now)
    assert event.event.answers[key] == value


def _typeform_with(sample, answer: dict, field: dict) -> dict:
    payload = json.loads(sample("typeform.json"))
    payload["form_response"]["answers"].append(answer)
    payload["form_response"]["definition"]["fields"].append(field)
    return payload


@pytest.mark.parametrize(
    ("answer", "field", "key", "value", "common"),
    [
        (
            {"type": "phone_number", "phone_number": "+61400000000", "field": {"id": "p1"}},
            {"id": "p1", "title": "Best number?", "ref": "contact_no", "type": "phone_number"},
            "contact_no",
            "+61400000000",
            {"phone": "+61400000000"},
        ),
        (
            {"type": "file_url", "file_url": "https://x.test/f.pdf", "field": {"id": "f1"}},
            {"id": "f1", "title": "Upload", "ref": "upload", "type": "file_upload"},
            "upload",
            "https://x.test/f.pdf",
            {},
        ),
        (
            {"type": "choices", "choices": {"labels": ["A"], "other": "Z"}, "field": {"id": "c1"}},
            {"id": "c1", "title": "Pick", "ref": "pick", "type": "multiple_choice"},
            "pick",
            ["A", "Z"],
            {},
        ),
        (
            {"type": "text", "text": "Smith", "field": {"id": "l1"}},
            {"id": "l1", "title": "Your surname", "ref": "ln", "type": "short_text"},
            "your_surname",
            "Smith",
            {"last_name": "Smith", "name": "Laura Smith"},
        ),
    ],
)
def test_typeform_answer_types(answer, field, key, value, common, make_source, sample, now):
    payload = _typeform_with(sample, answer, field)
    event = _parse(make_source("typeform", secret="s"), _json_request(payload), now).event
    assert event.answers[key] == value
    assert common.items() <= event.fields.items()


def test_the_fields_option_maps_a_common_field_to_an_answer(make_source, sample, now):
    source = make_source("typeform", secret="s", fields={"message": "readable_ref_long_text"})
    event = _parse(source, _json_request(sample("typeform.json")), now).event
    assert event.fields["message"].startswith("It's cold right now!")


def test_a_configured_dedupe_key_path_wins(make_source, sample, now):
    source = make_source("typeform", secret="s", dedupe_key="form_response.token")
    accepted = _parse(source, _json_request(sample("typeform.json")), now)
    assert accepted.dedupe_key == "key:a3a12ec67a1365927098a606107fac15"


def test_tally_sample(make_source, sample, now):
    accepted = _parse(make_source("tally", secret="s"), _json_request(sample("tally.json")), now)
    event = accepted.event
    assert (event.kind, event.external_id) == (
        "FORM_RESPONSE",
        "a4cb511e-d513-4fa5-baee-b815d718dfd1",
    )
    assert accepted.dedupe_key == "id:a4cb511e-d513-4fa5-baee-b815d718dfd1"
    assert event.fields == {"email": "alice@example.com", "phone": "+32491223344"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("question_3qL4Gm", "In progress"),  # MULTIPLE_CHOICE: option id -> text
        ("multiple_choice", "In progress"),
        ("dropdown", "Hard"),
        ("checkboxes", ["Swimming", "Skiing"]),
        ("checkboxes_soccer", False),
        ("multi_select", ["Surf", "Golf"]),
        ("ranking", ["Pear", "Apple", "Banana"]),
        ("matrix", {"Quality": ["Satisfied"], "Speed": ["Neutral"]}),
        ("utm_campaign", "newsletter"),
        ("email", "alice@example.com"),
        ("phone_number", "+32491223344"),
        ("long_text", "Hello world"),
        ("question_3Nrpl3", "Hello world"),
        ("payment_name", "Alice Smith"),
    ],
)
def test_tally_answers_by_key_and_label(key, value, make_source, sample, now):
    event = _parse(make_source("tally", secret="s"), _json_request(sample("tally.json")), now).event
    assert event.answers[key] == value


def test_tally_fields_option_derives_first_and_last_name(make_source, sample, now):
    source = make_source(
        "tally", secret="s", fields={"name": "payment_name", "message": "long_text"}
    )
    event = _parse(source, _json_request(sample("tally.json")), now).event
    assert event.fields == {
        "first_name": "Alice",
        "last_name": "Smith",
        "name": "Alice Smith",
        "email": "alice@example.com",
        "phone": "+32491223344",
        "message": "Hello world",
    }


def _jotform_request(body: bytes, boundary: str = JOTFORM_BOUNDARY) -> InboundRequest:
    content_type = f"multipart/form-data; boundary={boundary}"
    return InboundRequest(body, {"content-type": content_type}, content_type="multipart/form-data")


@pytest.mark.parametrize("line_ending", [b"\r\n", b"\n"], ids=["crlf", "lf-as-stored"])
def test_jotform_sample(line_ending, make_source, sample, now):
    body = sample("jotform.txt").replace(b"\n", line_ending)
    accepted = _parse(make_source("jotform", token="t"), _jotform_request(body), now)
    event = accepted.event
    assert (event.kind, event.external_id) == ("submission", "6084250982513018472")
    assert accepted.dedupe_key == "id:6084250982513018472"
    assert event.fields == {"first_name": "Niloth", "last_name": "P", "name": "Niloth P"}
    assert event.answers["studentsName"] == "Niloth P"
    assert event.answers["q3_studentsName"] == "Niloth P"
    assert event.answers["typeOf"] == "Online Tutoring"
    assert event.answers["q34_subjectFor"] == "Math"
    assert event.answers["date"] == ""  # an empty date object
    assert event.answers["reports"][0].endswith("Report%20Card.pdf")
    assert event.raw["formTitle"] == "Tutor Appointment Form"
    assert event.raw["rawRequest"]["q35_grade"] == "12"


def _multipart(parts: dict[str, str], boundary: str = "xYzZY") -> bytes:
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts.items()
    ]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def test_jotform_name_phone_email_and_message(make_source, now):
    raw_request = {
        "q3_fullName": {"first": "Ada", "last": "Lovelace"},
        "q4_email": "ada@example.com",
        "q5_phoneNumber": {"full": "(02) 9999 0000"},
        "q6_message": "Venue for 80 people",
        "q7_eventDate": {"month": "4", "day": "9", "year": "2027"},
    }
    body = _multipart({"submissionID": "99", "formID": "1", "rawRequest": json.dumps(raw_request)})
    event = _parse(make_source("jotform", token="t"), _jotform_request(body, "xYzZY"), now).event
    assert event.fields == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "(02) 9999 0000",
        "message": "Venue for 80 people",
    }
    assert event.answers["eventDate"] == "2027-04-09"
    assert event.answers["fullName_first"] == "Ada"


def test_webflow_sample(make_source, sample, now):
    body = sample("webflow-form-submission.json")
    accepted = _parse(make_source("webflow", secret="s"), _json_request(body), now)
    event = accepted.event
    assert (event.kind, event.external_id) == ("form_submission", "6321ca84df3949bfc6752327")
    assert accepted.dedupe_key == "id:6321ca84df3949bfc6752327"
    assert event.fields == {
        "first_name": "Zaphod",
        "last_name": "Beeblebrox",
        "name": "Zaphod Beeblebrox",
        "email": "zaphod@heartofgold.ai",
        "phone": "15550000000",
    }
    assert event.answers["First Name"] == event.answers["first_name"] == "Zaphod"
    assert event.answers["Phone Number"] == 15550000000


def test_hmac_formstack_urlencoded_sample(make_source, sample, now):
    source = make_source(
        "hmac", secret="s", header="X-FS-Signature", prefix="sha256=", dedupe_key="UniqueID"
    )
    request = InboundRequest(
        sample("formstack.txt"), {}, content_type="application/x-www-form-urlencoded"
    )
    accepted = _parse(source, request, now)
    event = accepted.event
    assert accepted.dedupe_key == "key:12345678"
    assert (event.kind, event.external_id) == ("submission", "12345678")
    assert event.fields == {
        "first_name": "John",
        "last_name": "Smith",
        "name": "John Smith",
        "email": "user@example.com",
        "phone": "234-555-6789",
    }
    assert event.answers["Address_city"] == "Test"
    assert event.raw["FormID"] == "23534"


@pytest.mark.parametrize("name", ["formstack.json", "formstack-field-types.json"])
def test_hmac_formstack_json_samples(name, make_source, sample, now):
    source = make_source("hmac", secret="s", header="X-FS-Signature", dedupe_key="UniqueID")
    event = _parse(source, _json_request(sample(name)), now).event
    assert event.fields["name"] == "John Smith"
    assert event.fields["email"] == "user@example.com"
    assert event.fields["phone"] == "234-555-6789"
    assert event.answers["Address_zip"] == "12345"


def test_hmac_id_header_is_the_dedupe_id(make_source, now):
    source = make_source("hmac", secret="s", header="X-Sig", id_header="X-Delivery", kind="lead")
    request = InboundRequest(
        urlencode({"email": "a@b.c", "tag": "x"}).encode() + b"&tag=y",
        {"x-delivery": "dlv-7"},
        content_type="application/x-www-form-urlencoded",
    )
    accepted = _parse(source, request, now)
    assert accepted.dedupe_key == "id:dlv-7"
    assert (accepted.event.kind, accepted.event.external_id) == ("lead", "dlv-7")
    assert accepted.event.answers["tag"] == ["x", "y"]


def test_hmac_without_any_id_dedupes_on_the_body(make_source, sample, now):
    source = make_source("hmac", secret="s", header="X-Sig")
    accepted = _parse(source, _json_request(b'{"email": "a@b.c"}'), now)
    assert accepted.dedupe_key.startswith("sha256:")
    assert accepted.event.external_id is None
