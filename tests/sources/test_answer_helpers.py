"""The shared pieces: slugs, compound values, common-field guessing, freshness, signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.sources.answers import add_compound, common_fields, complete_names, slugify
from bridge.sources.base import VerificationFailed
from bridge.sources.hmac_generic import signed_bytes, subfields
from bridge.sources.verification import decode_signature, require_fresh

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("First Name", "first_name"),
        ("What's your e-mail?", "what_s_your_e_mail"),
        ("phoneNumber", "phone_number"),
        ("  Checkboxes (Soccer) ", "checkboxes_soccer"),
        ("Email 2", "email_2"),
        ("Ünïcode", "n_code"),
        ("", ""),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug


@pytest.mark.parametrize(
    ("given", "completed"),
    [
        ({"first_name": "Ada", "last_name": "Lovelace"}, {"name": "Ada Lovelace"}),
        ({"first_name": "Ada"}, {"name": "Ada"}),
        ({"last_name": "Lovelace"}, {"name": "Lovelace"}),
        ({"name": "Ada King Lovelace"}, {"first_name": "Ada", "last_name": "King Lovelace"}),
        ({"name": "Cher"}, {"first_name": "Cher"}),
        ({"name": "A B", "first_name": "X"}, {}),  # both sides present: nothing derived
        ({}, {}),
    ],
)
def test_complete_names(given, completed):
    assert complete_names(dict(given)) == {**given, **completed}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"Email Address": "a@b.c"}, {"email": "a@b.c"}),
        ({"mobile": "0400", "Your Message": "hi"}, {"phone": "0400", "message": "hi"}),
        (
            {"Full Name": "Ada Lovelace"},
            {"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace"},
        ),
        ({"company_name": "Acme", "form_name": "Contact"}, {}),  # not a person's name
        ({"email_opt_in": True, "newsletter_email": ""}, {}),  # booleans and blanks skipped
        (
            {"given_name": "Ada", "surname": "L", "email": "x", "email2": "y"},
            {"first_name": "Ada", "last_name": "L", "name": "Ada L", "email": "x"},
        ),
    ],
)
def test_common_fields_guessed_from_answer_keys(answers, expected):
    assert common_fields(answers) == expected


def test_types_override_guesses_and_the_mapping_overrides_both():
    answers = {"email": "guess@x", "work_email": "typed@x", "alt": "mapped@x", "n": {"x": 1}}
    assert common_fields(answers, {"email": "typed@x"})["email"] == "typed@x"
    assert common_fields(answers, {"email": "typed@x"}, {"email": "alt"})["email"] == "mapped@x"
    assert "email" in common_fields(answers, None, {"email": "n"})  # a non-text mapping is ignored


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (
            {"first": "Ada", "middle": "K", "last": "L"},
            {"k": "Ada K L", "k_first": "Ada", "k_last": "L"},
        ),
        ({"full": "+61 2 9999"}, {"k": "+61 2 9999"}),
        ({"area": "02", "phone": "9999"}, {"k": "02 9999"}),
        ({"value": "a@b.c", "field_type": "email"}, {"k": "a@b.c"}),
        ({"year": "2027", "month": "4", "day": "9"}, {"k": "2027-04-09"}),
        (
            {"city": "Test", "zip": 1},
            {"k": {"city": "Test", "zip": 1}, "k_city": "Test", "k_zip": 1},
        ),
        ("plain", {"k": "plain"}),
    ],
)
def test_compound_values(value, stored):
    answers: dict = {}
    add_compound(answers, "k", value)
    assert answers == stored


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("first = John\nlast = Smith", {"first": "John", "last": "Smith"}),
        ("address = 1 Test Drive\ncity = Test\n", {"address": "1 Test Drive", "city": "Test"}),
        ("a=b", {"a": "b"}),
        ("x = 1 + 1 = 2\nnot a pair", "x = 1 + 1 = 2\nnot a pair"),
        ("no equals sign", "no equals sign"),
        (["a=b"], ["a=b"]),
    ],
)
def test_formstack_subfields(value, parsed):
    assert subfields(value) == parsed


def test_signed_content_template_keeps_the_body_bytes_exact():
    body = b"{\xff{id}}"
    assert signed_bytes("{id}:{timestamp}:{body}", body, {"id": "i", "timestamp": "9"}) == (
        b"i:9:" + body
    )


@pytest.mark.parametrize(
    ("timestamp", "unit", "accepted"),
    [
        (str(int(NOW.timestamp())), "s", True),
        (str(int(NOW.timestamp()) * 1000 + 299_999), "ms", True),
        (str(int(NOW.timestamp()) * 1000 + 300_001), "ms", False),
        (str(NOW.timestamp() - 300.5), "s", False),
        ("inf", "s", False),
        ("-inf", "s", False),
        ("nan", "s", False),
        ("", "s", False),
        ("12abc", "s", False),
    ],
)
def test_require_fresh(timestamp, unit, accepted):
    if accepted:
        require_fresh(timestamp, NOW, 300, unit)
    else:
        with pytest.raises(VerificationFailed):
            require_fresh(timestamp, NOW, 300, unit)


@pytest.mark.parametrize(
    ("text", "encoding", "decoded"),
    [
        ("0aFF", "hex", b"\x0a\xff"),
        ("zz", "hex", None),
        ("AAE=", "base64", b"\x00\x01"),
        ("AA E=", "base64", None),
        ("!!", "base64", None),
    ],
)
def test_decode_signature(text, encoding, decoded):
    assert decode_signature(text, encoding) == decoded
