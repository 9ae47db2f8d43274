"""IvvyClient.call over real HTTP: what goes on the wire, re-signing when stale, failures."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.wrappers import Request, Response

from bridge.ivvy.client import CallRecord, IvvyClient
from bridge.ivvy.errors import IvvyError, IvvyTransportError
from bridge.ivvy.regions import base_url_for
from bridge.ivvy.signing import content_md5, signature, string_to_sign

KEY, SECRET = "bridge-key", "bridge-secret"


def answer(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(payload)
    return Response(text, status=status, headers=headers, mimetype="application/json")


def is_signed_correctly(request: Request) -> bool:
    body = request.get_data()
    target = request.environ.get("RAW_URI") or request.full_path
    expected = signature(
        SECRET,
        string_to_sign(
            method=request.method,
            md5=content_md5(body),
            content_type=request.headers.get("Content-Type", ""),
            date="",
            request_target=target,
            ivvy_headers={"IVVY-Date": request.headers.get("IVVY-Date", "")},
        ),
    )
    sent = request.headers.get("X-Api-Authorization", "")
    return hmac.compare_digest(sent, f"IWS {KEY}:{expected}") and request.headers.get(
        "Content-MD5"
    ) == content_md5(body)


def verifying(request: Request) -> Response:
    """A minimal iVvy: checks the signature and the 5-minute window, then acknowledges."""
    if not is_signed_correctly(request):
        return answer({"errorCode": 401, "message": "Unauthorized"}, 401)
    sent = datetime.strptime(request.headers["IVVY-Date"], "%Y-%m-%d %H:%M:%S")
    if abs(datetime.now(UTC) - sent.replace(tzinfo=UTC)) > timedelta(minutes=5):
        return answer({"errorCode": 401, "message": "Request is stale", "specificCode": 23005}, 401)
    return answer({"ack": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")})


class RecordingSession(requests.Session):
    """A real session that remembers the timeout given to each send."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[object] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        self.timeouts.append(kwargs.get("timeout"))
        return super().send(request, **kwargs)


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("AU", "https://api.ap-southeast-2.ivvy.com"),
        ("US", "https://api.us-west-2.ivvy.com"),
        ("UK", "https://api.eu-west-2.ivvy.com"),
        ("uk", "https://api.eu-west-2.ivvy.com"),
    ],
)
def test_region_map(region, url):
    assert base_url_for(region, None) == url
    assert IvvyClient(KEY, SECRET, region=region).base_url == url


def test_explicit_base_url_wins_and_bad_regions_fail():
    assert base_url_for("AU", "http://127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert base_url_for(None, "http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    with pytest.raises(ValueError, match="'NZ'"):
        base_url_for("NZ", None)
    with pytest.raises(ValueError, match="region"):
        base_url_for(None, None)


def test_call_sends_the_signed_compact_json_it_hashed(raw_server):
    server = raw_server(lambda request: answer({"success": True, "id": 755}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        result = client.call("crm", "addOrUpdateTask", {"name": "Rappel café", "status": 0})
    assert result == {"success": True, "id": 755}
    (seen,) = server.seen
    assert seen.method == "POST"
    assert seen.target == "/api/1.0/crm?action=addOrUpdateTask"
    assert seen.body == '{"name":"Rappel café","status":0}'.encode()
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Content-MD5"] == content_md5(seen.body)
    assert seen.headers["X-Api-Version"] == "1.0"


def test_ping_is_accepted_by_a_verifying_server_with_an_empty_body(raw_server):
    server = raw_server(verifying)
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert "ack" in client.ping()
    assert server.seen[0].body == b""
    assert server.seen[0].headers["Content-MD5"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_stale_answer_is_resigned_and_retried_exactly_once(raw_server):
    server = raw_server(verifying)

    def clock_off_on_first_call() -> datetime:
        # Ten minutes slow until the server has seen the first attempt.
        skew = timedelta(minutes=-10) if not server.seen else timedelta(0)
        return datetime.now(UTC) + skew

    records: list[CallRecord] = []
    with IvvyClient(
        KEY, SECRET, base_url=server.url, clock=clock_off_on_first_call, on_call=records.append
    ) as client:
        assert "ack" in client.ping()
    first, second = server.seen
    assert first.headers["IVVY-Date"] != second.headers["IVVY-Date"]
    assert first.headers["X-Api-Authorization"] != second.headers["X-Api-Authorization"]
    assert [r.status for r in records] == [401, 200]
    assert records[0].error is not None and "23005" in records[0].error
    assert records[1].error is None


def test_stale_twice_gives_up_after_two_attempts(raw_server):
    server = raw_server(verifying)
    always_off = lambda: datetime.now(UTC) - timedelta(minutes=10)  # noqa: E731
    with (
        IvvyClient(KEY, SECRET, base_url=server.url, clock=always_off) as client,
        pytest.raises(IvvyError) as caught,
    ):
        client.ping()
    assert caught.value.specific_code == 23005
    assert caught.value.retryable is True
    assert len(server.seen) == 2


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (503, {"errorCode": 503, "message": "Service Unavailable"}),
        (400, {"errorCode": 400, "message": "'name' is required", "specificCode": 23017}),
        (401, {"errorCode": 401, "message": "Unauthorized"}),
    ],
)
def test_no_other_error_is_retried_by_the_client(raw_server, status, payload):
    server = raw_server(lambda request: answer(payload, status))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError):
        client.call("crm", "addOrUpdateTask", {"name": "x"})
    assert len(server.seen) == 1


def test_429_carries_retry_after(raw_server):
    too_many = {"errorCode": 429, "message": "Too Many Requests"}
    server = raw_server(lambda request: answer(too_many, 429, {"Retry-After": "30"}))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.call("crm", "getTaskList", {})
    error = caught.value
    assert (error.http_status, error.error_code, error.retryable) == (429, 429, True)
    assert error.retry_after == 30.0
    assert error.maybe_committed is False


def test_non_json_502_on_a_write(raw_server):
    page = "<html>Bad gateway for jane@example.com</html>"
    server = raw_server(lambda request: Response(page, status=502, mimetype="text/html"))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.add_or_update_task({"name": "x"})
    error = caught.value
    assert (error.http_status, error.error_code, error.specific_code) == (502, None, None)
    assert error.retryable is True
    assert error.maybe_committed is True
    assert "jane@example.com" not in str(error)


def test_error_object_on_http_200_is_an_error(raw_server):
    body = {"errorCode": 400, "message": "'id' does not validate", "specificCode": 23016}
    server = raw_server(lambda request: answer(body, 200))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.call("contact", "getContact", {"id": "wrong"})
    assert caught.value.specific_code == 23016
    assert caught.value.retryable is False


def test_unreadable_200_on_a_write_may_have_committed(raw_server):
    server = raw_server(lambda request: Response("", status=200))
    with IvvyClient(KEY, SECRET, base_url=server.url) as client, pytest.raises(IvvyError) as caught:
        client.call("crm", "addOrUpdateTask", {"name": "x"})
    assert caught.value.retryable is True
    assert caught.value.maybe_committed is True


def test_errors_and_records_never_show_the_body_or_credentials(raw_server):
    server = raw_server(
        lambda request: answer(
            {
                "errorCode": 400,
                "message": "'email' does not validate",
                "specificCode": 23016,
                "additionalMessages": ["Value must be a valid email address"],
            },
            400,
        )
    )
    records: list[CallRecord] = []
    with (
        IvvyClient(KEY, SECRET, base_url=server.url, on_call=records.append) as client,
        pytest.raises(IvvyError) as caught,
    ):
        client.add_or_update_contact({"firstName": "Jane", "email": "jane.doe@example"})
    signature_sent = server.seen[0].headers["X-Api-Authorization"].split(":")[1]
    for text in (str(caught.value), records[0].error or "", repr(client)):
        for secret in ("jane.doe@example", "Jane", KEY, SECRET, signature_sent):
            assert secret not in text
    assert "23016" in str(caught.value)
    assert "Value must be a valid email address" in str(caught.value)


def test_a_timeout_is_passed_on_every_call(raw_server):
    items = [{"id": i} for i in range(5)]

    def collection(request: Request) -> Response:
        if not request.get_data():
            return answer({"ack": "2024-05-06 07:08:09 UTC"})
        start = request.get_json()["start"]
        page = items[start : start + 2]
        meta = {"totalResults": 5, "start": start, "perPage": 2, "count": len(page)}
        return answer({"meta": meta, "results": page})

    server = raw_server(collection)
    session = RecordingSession()
    client = IvvyClient(KEY, SECRET, base_url=server.url, session=session, timeout=(1.5, 2.5))
    with session:
        assert len(client.get_task_list()) == 5
        client.call("test", "ping")
    assert session.timeouts == [(1.5, 2.5)] * 4


def test_a_hung_server_times_out_and_a_write_may_have_committed(raw_server):
    def hang(request: Request) -> Response:
        server.release.wait(10)
        return answer({})

    server = raw_server(hang)
    records: list[CallRecord] = []
    with (
        IvvyClient(
            KEY, SECRET, base_url=server.url, timeout=(2.0, 0.3), on_call=records.append
        ) as client,
        pytest.raises(IvvyTransportError) as caught,
    ):
        client.add_or_update_task({"name": "x"})
    error = caught.value
    assert (error.kind, error.retryable, error.maybe_committed) == ("timeout", True, True)
    assert error.http_status is None
    assert records[0].status is None and records[0].error is not None


def test_a_read_that_times_out_has_committed_nothing(raw_server):
    def hang(request: Request) -> Response:
        server.release.wait(10)
        return answer({})

    server = raw_server(hang)
    with (
        IvvyClient(KEY, SECRET, base_url=server.url, timeout=(2.0, 0.3)) as client,
        pytest.raises(IvvyTransportError) as caught,
    ):
        client.get_task_list()
    assert caught.value.maybe_committed is False


def test_refused_connection_cannot_have_committed(refused_url):
    with (
        IvvyClient(KEY, SECRET, base_url=refused_url) as client,
        pytest.raises(IvvyTransportError) as caught,
    ):
        client.add_or_update_task({"name": "x"})
    error = caught.value
    assert (error.kind, error.retryable, error.maybe_committed) == ("connection", True, False)


def test_connection_dropped_after_sending_a_write_may_have_committed(dropping_server):
    with (
        IvvyClient(KEY, SECRET, base_url=dropping_server.url) as client,
        pytest.raises(IvvyTransportError) as caught,
    ):
        client.add_or_update_task({"name": "x"})
    error = caught.value
    assert (error.kind, error.retryable, error.maybe_committed) == ("connection", True, True)
    assert dropping_server.received == 1


def test_a_failing_attempt_log_does_not_fail_the_call(raw_server, caplog):
    server = raw_server(lambda request: answer({"success": True, "id": 9}))

    def broken_log(record: CallRecord) -> None:
        raise RuntimeError("attempt log is down")

    with IvvyClient(KEY, SECRET, base_url=server.url, on_call=broken_log) as client:
        assert client.add_or_update_task({"name": "x"}) == 9
    assert "ivvy_on_call_failed" in caplog.text


def test_the_environment_proxy_is_used(raw_server, monkeypatch):
    # The proxy settings are read once, when the client is made; calls still go through it.
    proxy = raw_server(lambda request: answer({"success": True, "id": 9}))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with IvvyClient(KEY, SECRET, base_url="http://ivvy.example.test") as client:
        assert client.call("crm", "addOrUpdateTask", {"name": "x"}) == {"success": True, "id": 9}
        assert client.call("crm", "addOrUpdateTask", {"name": "y"}) == {"success": True, "id": 9}
    assert [seen.target for seen in proxy.seen] == [
        "http://ivvy.example.test/api/1.0/crm?action=addOrUpdateTask"
    ] * 2


def test_no_proxy_bypasses_the_environment_proxy(raw_server, refused_url, monkeypatch):
    server = raw_server(lambda request: answer({"success": True, "id": 10}))
    monkeypatch.setenv("HTTP_PROXY", refused_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with IvvyClient(KEY, SECRET, base_url=server.url) as client:
        assert client.call("crm", "addOrUpdateTask", {"name": "x"}) == {"success": True, "id": 10}
    assert len(server.seen) == 1
