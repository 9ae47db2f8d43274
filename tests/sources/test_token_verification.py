"""Unsigned senders authenticated by a shared token: form, jotform, webflow with ``unsigned``."""

from __future__ import annotations

import base64

import pytest

from bridge.sources.base import InboundRequest, VerificationFailed

TOKEN_TYPES = {
    "form": {},
    "jotform": {},
    "webflow": {"unsigned": True},
}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


PRESENTATIONS = {
    "header": lambda token: ({"x-bridge-token": token}, {}),
    "query": lambda token: ({}, {"token": token}),
    "basic": lambda token: ({"authorization": _basic("anyone", token)}, {}),
    "basic-no-user": lambda token: ({"authorization": _basic("", token)}, {}),
}


def _request(presentation: str, token: str) -> InboundRequest:
    headers, query = PRESENTATIONS[presentation](token)
    return InboundRequest(body=b"{}", headers=headers, query=query)


@pytest.mark.parametrize("presentation", PRESENTATIONS)
@pytest.mark.parametrize("type_name", TOKEN_TYPES)
def test_the_token_is_accepted_however_it_is_presented(type_name, presentation, make_source, now):
    source = make_source(type_name, token="s3cret-token", **TOKEN_TYPES[type_name])
    source.verify(_request(presentation, "s3cret-token"), now)


@pytest.mark.parametrize("presentation", PRESENTATIONS)
@pytest.mark.parametrize("type_name", TOKEN_TYPES)
def test_a_wrong_token_is_rejected_without_showing_it(type_name, presentation, make_source, now):
    source = make_source(type_name, token="s3cret-token", **TOKEN_TYPES[type_name])
    with pytest.raises(VerificationFailed) as failure:
        source.verify(_request(presentation, "s3cret-tokeN"), now)
    assert "s3cret" not in str(failure.value)


@pytest.mark.parametrize("which", ["old-token", "new-token"])
@pytest.mark.parametrize("type_name", TOKEN_TYPES)
def test_while_rotating_both_tokens_are_accepted(type_name, which, make_source, now):
    source = make_source(type_name, tokens=["old-token", "new-token"], **TOKEN_TYPES[type_name])
    source.verify(_request("header", which), now)


@pytest.mark.parametrize(
    "request_parts",
    [
        ({}, {}),
        ({"x-bridge-token": ""}, {}),
        ({"authorization": "Bearer s3cret-token"}, {}),
        ({"authorization": "Basic not-base64!!"}, {}),
        ({"authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, {}),
        ({}, {"token": ""}),
    ],
    ids=["nothing", "blank-header", "bearer", "bad-basic", "basic-without-colon", "blank-query"],
)
@pytest.mark.parametrize("type_name", TOKEN_TYPES)
def test_a_missing_token_is_rejected(type_name, request_parts, make_source, now):
    headers, query = request_parts
    source = make_source(type_name, token="s3cret-token", **TOKEN_TYPES[type_name])
    with pytest.raises(VerificationFailed):
        source.verify(InboundRequest(b"{}", headers, query=query), now)


def test_a_wrong_header_token_does_not_hide_a_right_query_token(make_source, now):
    source = make_source("form", token="s3cret-token")
    request = InboundRequest(b"{}", {"x-bridge-token": "nope"}, query={"token": "s3cret-token"})
    source.verify(request, now)


def test_webflow_is_flagged_unsigned_only_when_configured(make_source):
    assert make_source("webflow", unsigned=True, token="t").unsigned is True
    assert make_source("webflow", secret="s").unsigned is False


def test_a_signed_webflow_source_ignores_tokens(make_source, now):
    source = make_source("webflow", secret="s", token="s3cret-token")
    with pytest.raises(VerificationFailed):
        source.verify(_request("query", "s3cret-token"), now)
