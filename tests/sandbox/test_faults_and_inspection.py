"""Fault knobs, the /_sandbox endpoints, seeding and the server's life cycle."""

from __future__ import annotations

import json

import pytest
import requests

from bridge.ivvy.sandbox import SandboxServer, SandboxState

TASK = {"name": "Call Jane", "endDatetime": "2024-05-07 09:00:00", "contactId": 1}


def set_faults(inspector, settings: dict) -> dict:
    response = inspector.post("faults", settings)
    assert response.status_code == 200, response.text
    return response.json()


def test_fail_next_with_status_code_and_retry_after(api, inspector) -> None:
    set_faults(inspector, {"fail_next": 3, "status": 503, "specific_code": None, "retry_after": 2})
    for _ in range(3):
        response = api.post("crm", "addOrUpdateTask", TASK)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.json()["errorCode"] == 503
        assert response.json()["specificCode"] is None
    assert inspector.get("tasks") == []
    assert api.post("crm", "addOrUpdateTask", TASK).status_code == 200
    assert len(inspector.get("tasks")) == 1
    faults = [call["fault"] for call in inspector.get("calls")]
    assert faults == ["fail", "fail", "fail", None]


def test_fail_with_429_and_a_specific_code(api, inspector) -> None:
    set_faults(inspector, {"fail_next": 1, "status": 429, "specific_code": 12345})
    response = api.post("test", "ping")
    assert response.status_code == 429
    assert response.json()["specificCode"] == 12345
    assert "Retry-After" not in response.headers


def test_faults_merge_and_clear(api, inspector) -> None:
    set_faults(inspector, {"latency_ms": 20})
    settings = set_faults(inspector, {"fail_next": 1})
    assert (settings["latency_ms"], settings["fail_next"], settings["status"]) == (20, 1, 503)
    cleared = inspector.delete("faults").json()
    assert (cleared["latency_ms"], cleared["fail_next"]) == (0, 0)
    assert api.post("test", "ping").status_code == 200


def test_latency_is_applied_and_logged(api, inspector) -> None:
    set_faults(inspector, {"latency_ms": 20})
    assert api.post("test", "ping").status_code == 200
    assert inspector.get("calls")[-1]["latency_ms"] == 20


def test_faults_never_apply_to_the_sandbox_endpoints(api, inspector) -> None:
    set_faults(inspector, {"fail_next": 1, "drop_next": 1})
    assert inspector.get("tasks") == []
    assert inspector.get("calls") == []
    assert api.post("test", "ping").status_code == 503  # the API call still takes the failure


def test_drop_next_commits_the_write_but_the_client_gets_no_answer(api, inspector) -> None:
    set_faults(inspector, {"drop_next": 1})
    with pytest.raises(requests.ConnectionError):
        api.post("crm", "addOrUpdateTask", TASK)
    tasks = inspector.get("tasks")
    assert [task["name"] for task in tasks] == ["Call Jane"]
    assert inspector.get("calls")[-1]["fault"] == "drop"
    assert inspector.get("calls")[-1]["status"] == 200
    assert api.post("crm", "getTaskList", {}).status_code == 200  # only one answer was dropped


def test_drop_rate_is_repeatable_with_a_seed(api, inspector) -> None:
    def pattern() -> list[bool]:
        set_faults(inspector, {"drop_rate": 0.5, "seed": 7})
        dropped = []
        for _ in range(12):
            try:
                api.post("test", "ping")
            except requests.ConnectionError:
                dropped.append(True)
            else:
                dropped.append(False)
        inspector.delete("faults")
        return dropped

    first = pattern()
    assert any(first)
    assert not all(first)
    assert pattern() == first


@pytest.mark.parametrize(
    "settings",
    [{"fail_next": -1}, {"status": 200}, {"drop_rate": 2}, {"colour": "red"}, [1], "x"],
)
def test_bad_fault_settings_are_400(inspector, settings) -> None:
    response = inspector.post("faults", settings)
    assert response.status_code == 400
    assert response.json()["errorCode"] == 400


def test_inspection_lists(api, inspector) -> None:
    api.ok("crm", "addOrUpdateTask", TASK)
    assert [t["name"] for t in inspector.get("tasks")] == ["Call Jane"]
    assert [c["id"] for c in inspector.get("contacts")] == [1]
    assert [c["businessName"] for c in inspector.get("companies")] == ["Acme Events Pty Ltd"]
    assert [(x["id"], x.get("venueId")) for x in inspector.get("leads")] == [(1, None), (2, 1)]
    assert {u["id"] for u in inspector.get("users")} == {1, 2, 3, 4}
    assert [v["timezone"] for v in inspector.get("venues")] == ["Australia/Sydney", "Europe/London"]


def test_call_log(api, inspector) -> None:
    api.post("test", "ping")
    api.post("crm", "addOrUpdateTask", {"name": "no due date", "contactId": 1})
    calls = inspector.get("calls")
    assert [(c["namespace"], c["action"], c["status"]) for c in calls] == [
        ("test", "ping", 200),
        ("crm", "addOrUpdateTask", 400),
    ]
    assert calls[1]["specificCode"] == 23017
    assert all(c["fault"] is None and c["time"].endswith(" UTC") for c in calls)


def test_html_page_lists_tasks_escaped(api, inspector) -> None:
    api.ok("crm", "addOrUpdateTask", {**TASK, "name": "Call <b>Jane</b>", "assignedUserId": 1})
    response = requests.get(inspector.base_url + "/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Call &lt;b&gt;Jane&lt;/b&gt;" in response.text
    assert "Olivia Nguyen" in response.text


def test_reset_returns_to_the_latest_seed(api, inspector) -> None:
    seed = {
        "users": [{"id": 9, "firstName": "Solo", "email": "solo@x.example"}],
        "contacts": [{"id": 5, "firstName": "A", "lastName": "B", "email": "a@b.example"}],
    }
    assert inspector.post("seed", seed).status_code == 200
    api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": 5})
    api.ok("contact", "addOrUpdateContact", {"firstName": "C", "lastName": "D", "email": "c@d.ex"})
    assert len(inspector.get("tasks")) == 1
    assert inspector.post("reset").json() == {"reset": True}
    assert inspector.get("tasks") == []
    assert [c["id"] for c in inspector.get("contacts")] == [5]
    assert [u["id"] for u in inspector.get("users")] == [9]
    assert inspector.get("calls") == []
    assert api.ok("crm", "addOrUpdateTask", {**TASK, "contactId": 5})["id"] == 1  # ids restart


@pytest.mark.parametrize(
    "seed",
    [
        {"planets": []},
        {"users": {"id": 1}},
        {"users": [{"firstName": "no id"}]},
        {"users": [{"id": 1}, {"id": 1}]},
        {"opportunities": [{"id": 1, "name": "no venue"}]},
        [1, 2],
    ],
)
def test_bad_seeds_are_400_and_change_nothing(inspector, seed) -> None:
    response = inspector.post("seed", seed)
    assert response.status_code == 400
    assert len(inspector.get("users")) == 4


def test_state_from_a_seed_file(tmp_path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"venues": [{"id": 3, "timezone": "UTC"}]}), "utf-8")
    state = SandboxState.from_seed(path)
    assert [v["id"] for v in state.records("venues")] == [3]
    assert state.records("users") == []
    assert SandboxState().records("venues") == []


def test_server_serves_a_given_state_and_stops(api) -> None:
    state = SandboxState.from_seed({"users": [{"id": 1, "firstName": "Only"}]})
    with SandboxServer(state) as server:
        assert server.state is state
        assert server.url.startswith("http://127.0.0.1:")
        url = server.url
        answer = type(api)(url).ok("account", "getUserList", {})
        assert [u["firstName"] for u in answer["results"]] == ["Only"]
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/users", timeout=2)


@pytest.mark.timeout(60)
def test_serve_forever_in_its_own_process(api, tmp_path) -> None:
    import subprocess
    import sys

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"venues": [{"id": 8, "timezone": "Europe/London"}]}), "utf-8")
    script = (
        "import sys; from bridge.ivvy.sandbox import serve_forever; "
        "serve_forever(port=0, seed_path=sys.argv[1], credentials={'k': 's'}, quiet=True, "
        "on_ready=lambda url: print(url, flush=True))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(seed)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        home = requests.get(url + "/", timeout=5)
        assert home.url == url + "/_sandbox/"
        assert [v["id"] for v in requests.get(url + "/_sandbox/venues", timeout=5).json()] == [8]
        assert "ack" in type(api)(url, key="k", secret="s").ok("test", "ping")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
