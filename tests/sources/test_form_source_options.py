"""Option schemas of the form and scheduler source types, and their declared content types."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from bridge.sources.registry import SOURCE_TYPES

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

VALID = [
    ("typeform", {"secret": "s"}),
    ("typeform", {"secrets": ["a", "b"], "fields": {"first_name": "given"}}),
    ("tally", {"secrets": ["a"]}),
    ("webflow", {"secret": "s", "tolerance_seconds": 120}),
    ("webflow", {"unsigned": True, "token": "t"}),
    ("webflow", {"unsigned": True, "tokens": ["t1", "t2"]}),
    ("calendly", {"secret": "s"}),
    ("formspree", {"secret": "s"}),
    ("standard-webhooks", {"secrets": [WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}),
    ("hmac", {"secret": "s", "header": "X-FS-Signature", "prefix": "sha256="}),
    (
        "hmac",
        {
            "secret": "s",
            "header": "X-Sig",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed_content": "{timestamp}.{id}.{body}",
            "timestamp_header": "X-Ts",
            "timestamp_unit": "ms",
            "id_header": "X-Id",
        },
    ),
    ("form", {"token": "t"}),
    ("form", {"tokens": ["a", "b"], "description": "contact page"}),
    ("jotform", {"token": "t", "dedupe_key": "submissionID"}),
]

INVALID = [
    ("typeform", {}, "secrets"),
    ("typeform", {"secrets": [""]}, "secrets"),
    ("tally", {"secret": ""}, "secrets"),
    ("calendly", {"secret": "s", "tolerance_seconds": 0}, "tolerance_seconds"),
    ("webflow", {}, "secrets"),
    ("webflow", {"unsigned": True}, "token"),
    ("standard-webhooks", {"secret": "whsec_***not base64***"}, "secrets"),
    ("hmac", {"secret": "s"}, "header"),
    ("hmac", {"secret": "s", "header": "X", "algorithm": "md5"}, "algorithm"),
    ("hmac", {"secret": "s", "header": "X", "encoding": "base32"}, "encoding"),
    ("hmac", {"secret": "s", "header": "X", "signed_content": "{timestamp}"}, "signed_content"),
    (
        "hmac",
        {"secret": "s", "header": "X", "signed_content": "{timestamp}.{body}"},
        "signed_content",
    ),
    ("hmac", {"secret": "s", "header": "X", "signed_content": "{id}.{body}"}, "signed_content"),
    ("hmac", {"secret": "s", "header": "X", "timestamp_unit": "minutes"}, "timestamp_unit"),
    ("form", {}, "token"),
    ("jotform", {"tokens": []}, "token"),
    ("form", {"token": "t", "fields": {"nickname": "nick"}}, "fields"),
]


@pytest.mark.parametrize(("type_name", "options"), VALID)
def test_valid_options_load(type_name, options):
    loaded = SOURCE_TYPES[type_name].options_schema().load({"type": type_name, **options})
    assert loaded["type"] == type_name


@pytest.mark.parametrize(("type_name", "options", "culprit"), INVALID)
def test_invalid_options_name_the_culprit(type_name, options, culprit):
    with pytest.raises(ValidationError) as failure:
        SOURCE_TYPES[type_name].options_schema().load({"type": type_name, **options})
    assert culprit in failure.value.messages


def test_defaults_are_filled_in():
    loaded = (
        SOURCE_TYPES["hmac"].options_schema().load({"type": "hmac", "secret": "s", "header": "X"})
    )
    assert {k: loaded[k] for k in ("algorithm", "encoding", "prefix", "signed_content")} == {
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "",
        "signed_content": "{body}",
    }
    assert (loaded["tolerance_seconds"], loaded["fields"], loaded["secrets"]) == (300, {}, [])


@pytest.mark.parametrize(
    ("type_name", "content_types"),
    [
        ("typeform", {"application/json"}),
        ("tally", {"application/json"}),
        ("webflow", {"application/json"}),
        ("calendly", {"application/json"}),
        ("formspree", {"application/json"}),
        ("standard-webhooks", {"application/json"}),
        ("jotform", {"multipart/form-data"}),
        ("form", {"application/json", "application/x-www-form-urlencoded"}),
        ("hmac", {"application/json", "application/x-www-form-urlencoded"}),
    ],
)
def test_content_types(type_name, content_types):
    assert SOURCE_TYPES[type_name].content_types == content_types
