"""Error classification, iVvy's error objects and Retry-After, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.ivvy.errors import (
    IvvyError,
    IvvyTransportError,
    error_from_body,
    is_retryable,
    is_write_action,
    parse_retry_after,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "specific", "retryable"),
    [
        (401, 23005, True),  # stale: sign afresh
        (429, None, True),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (None, None, True),  # no answer at all
        (400, 23016, False),
        (400, 23017, False),
        (400, None, False),
        (401, None, False),
        (401, 12345, False),
        (403, None, False),
        (404, None, False),
        (405, None, False),
        (463, None, False),
        *[(400, code, False) for code in range(24389, 24397)],
        (500, 24393, False),  # a documented task error stays permanent whatever the status
        (400, 24096, False),
        (400, 24215, False),
        (400, 24216, False),
        (400, 24218, False),
    ],
)
def test_is_retryable(status, specific, retryable):
    assert is_retryable(status, specific) is retryable


@pytest.mark.parametrize(
    ("action", "write"),
    [
        ("addOrUpdateTask", True),
        ("addOrUpdateContact", True),
        ("convertLeadToOpportunity", True),
        ("getTaskList", False),
        ("getContactList", False),
        ("ping", False),
    ],
)
def test_is_write_action(action, write):
    assert is_write_action(action) is write


def test_validation_error_body_becomes_fields():
    body = {
        "errorCode": 400,
        "message": "'id' does not validate",
        "specificCode": 23016,
        "additionalMessages": ["Value must be a whole number"],
    }
    error = error_from_body(body, http_status=400, namespace="contact", action="getContact")
    assert (error.http_status, error.error_code, error.specific_code) == (400, 400, 23016)
    assert error.message == "'id' does not validate"
    assert error.additional_messages == ["Value must be a whole number"]
    assert error.retryable is False
    assert error.maybe_committed is False
    assert error.retry_after is None
    assert str(error) == (
        "iVvy contact?action=getContact: 'id' does not validate "
        "(HTTP 400, errorCode 400, specificCode 23016): Value must be a whole number"
    )


def test_stale_body_is_retryable():
    body = {"errorCode": 401, "message": "Request is stale", "specificCode": 23005}
    error = error_from_body(body, http_status=401, namespace="test", action="ping")
    assert error.retryable is True
    assert error.additional_messages == []


def test_error_code_wins_over_http_status_for_the_verdict():
    # iVvy's own SDK ignores the HTTP status: an errorCode object on a 200 is still an error.
    body = {"errorCode": 400, "message": "'name' is required", "specificCode": 23017}
    assert error_from_body(body, http_status=200).retryable is False
    assert error_from_body({"errorCode": 503}, http_status=200).retryable is True


@pytest.mark.parametrize(
    ("action", "error_code", "maybe_committed"),
    [
        ("addOrUpdateTask", 500, True),
        ("addOrUpdateTask", 503, True),
        ("addOrUpdateTask", 429, False),
        ("addOrUpdateTask", 400, False),
        ("getTaskList", 500, False),
    ],
)
def test_maybe_committed_only_for_5xx_on_writes(action, error_code, maybe_committed):
    error = error_from_body({"errorCode": error_code}, http_status=error_code, action=action)
    assert error.maybe_committed is maybe_committed


def test_codes_given_as_numeric_strings_are_read():
    error = error_from_body({"errorCode": "400", "specificCode": "23017"}, http_status=400)
    assert (error.error_code, error.specific_code) == (400, 23017)
    assert error.message == "iVvy reported an error"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Mon, 06 May 2024 07:09:09 GMT", 60.0),
        ("Mon, 06 May 2024 07:00:00 GMT", 0.0),  # already past
        (None, None),
        ("", None),
        ("-5", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_transport_error_is_retryable_and_has_no_status():
    error = IvvyTransportError(
        "read timed out (ReadTimeout)",
        kind="timeout",
        maybe_committed=True,
        namespace="crm",
        action="addOrUpdateTask",
    )
    assert isinstance(error, IvvyError)
    assert error.retryable is True
    assert error.http_status is None
    assert error.details()["maybe_committed"] is True
    assert str(error) == "iVvy crm?action=addOrUpdateTask: read timed out (ReadTimeout)"


def test_codes_sent_as_text_are_read_and_odd_ones_dropped():
    """iVvy sends some codes as strings; "²" passes ``isdigit`` and made ``int`` raise."""
    body = {"errorCode": "²", "message": "odd", "specificCode": " 24393 "}
    error = error_from_body(body, http_status=400)
    assert (error.error_code, error.specific_code) == (None, 24393)
    assert error.retryable is False  # 24393 is a permanent task error
