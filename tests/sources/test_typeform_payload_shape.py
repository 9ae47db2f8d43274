"""Typeform answers and questions checked by shape: the message names the index and the key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marshmallow import ValidationError

from bridge.sources.base import InboundRequest, PayloadInvalid
from bridge.sources.typeform import TypeformPayload

SECRETISH = "jane.secret@example.com"


def _request(payload: dict[str, Any]) -> InboundRequest:
    return InboundRequest(
        json.dumps(payload).encode(),
        {"content-type": "application/json"},
        content_type="application/json",
    )


def _with_response(sample, **changes: Any) -> dict[str, Any]:
    payload = json.loads(sample("typeform.json"))
    payload["form_response"].update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        ({"answers": {"0": {}}}, "form_response.answers"),
        ({"answers": [None]}, "form_response.answers.0"),
        ({"answers": [5]}, "form_response.answers.0._schema"),
        (
            {"answers": [{"text": SECRETISH}]},
            "form_response.answers.0.field, form_response.answers.0.type",
        ),
        (
            {"answers": [{"type": "text", "field": {"id": 7, "ref": SECRETISH}}]},
            "form_response.answers.0.field.id",
        ),
        (
            {"answers": [{"type": "text", "field": {"ref": 3}}]},
            "form_response.answers.0.field.id, form_response.answers.0.field.ref",
        ),
        (
            {"definition": {"fields": [{"id": "a"}, {"id": "b", "title": 1}]}},
            "form_response.definition.fields.1.title",
        ),
        ({"definition": {"fields": None}}, "form_response.definition.fields"),
    ],
)
def test_a_malformed_form_response_names_what_to_check(changes, paths, make_source, sample, now):
    source = make_source("typeform", secret="s")
    with pytest.raises(PayloadInvalid) as failure:
        source.parse(_request(_with_response(sample, **changes)), now)
    assert str(failure.value) == f"the payload is not a Typeform delivery (check: {paths})"
    assert "jane" not in str(failure.value)


def test_the_messages_are_marshmallows_own(sample):
    payload = _with_response(
        sample, answers=[None, "x", {"type": None, "field": {"id": "a", "type": []}}]
    )
    with pytest.raises(ValidationError) as failure:
        TypeformPayload().load(payload)
    assert failure.value.messages == {
        "form_response": {
            "answers": {
                0: ["Field may not be null."],
                1: {"_schema": ["Invalid input type."]},
                2: {"type": ["Field may not be null."], "field": {"type": ["Not a valid string."]}},
            }
        }
    }


def test_answers_come_back_whole_with_undeclared_keys(sample):
    payload = json.loads(sample("typeform.json"))
    loaded = TypeformPayload().load(payload)
    response = loaded["form_response"]
    assert response["answers"] == payload["form_response"]["answers"]
    assert response["definition"]["questions"] == payload["form_response"]["definition"]["fields"]
    assert response["definition"]["questions"][0]["allow_other_choice"] is False
