"""openapi.yaml: a valid OpenAPI 3.1 file, naming every route, and the app keeps to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bridge import create_app
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET
from bridge.settings import Settings
from bridge.web.errors import NUL_IN_URL
from bridge.web.throttle import FailureThrottle
from tests.ingest.running_bridge import SIGNED_SOURCES
from tests.support.configs import TOKEN, write_config

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
ADMIN_TOKEN = "admin-token-for-the-openapi-tests"

# Routes for people, not programs: the status pages and their assets.  Anything else the app
# registers must be in openapi.yaml.
NOT_IN_THE_SPEC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/events"),
    ("GET", "/events/{}"),
    ("POST", "/events/{}/replay"),
    ("GET", "/preview"),
    ("POST", "/preview"),
    ("GET", "/backtest"),
    ("POST", "/backtest"),
    ("GET", "/ui-static/{}"),
    ("GET", "/static/{}"),  # Flask's own static route
}
# Operations with rules a schema cannot state, so that a request the schema allows may be a 400.
POSITIVE_DATA_MAY_BE_REFUSED = {
    "POST /hooks/{source}": "each source takes its own content types, signature and shape",
    "GET /api/stats": "since must not be after until",
    "POST /api/preview": "the payload must be one the source can parse (422 otherwise)",
}
# Flask answers these for every route by itself.
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = {key for key in keys if keys.count(key) > 1}
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"keys given twice: {sorted(map(str, repeated))}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(SPEC_PATH.read_text(), Loader=_UniqueKeyLoader)
    return loaded


def shape(path: str) -> str:
    """``/hooks/<source_name>`` and ``/hooks/{source}`` both become ``/hooks/{}``."""
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path)


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The application in this process, on a migrated SQLite database."""
    return make_app(tmp_path, sqlite_url, monkeypatch)


def make_app(directory: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("IVVY_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("IVVY_API_SECRET", SANDBOX_SECRET)
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    # Nothing listens on port 9: the app never calls iVvy on these routes.
    config = write_config(directory, ivvy_url="http://127.0.0.1:9", extra_sources=SIGNED_SOURCES)
    settings = Settings(
        database_url=database_url,
        config_path=str(config),
        admin_token=ADMIN_TOKEN,
        max_body_bytes=16 * 1024,
        log_level="WARNING",
    )
    app = create_app(settings)
    # Fuzzed tokens would soon throttle this client (429, documented) and leave the rest of
    # the run testing nothing but that: here every guess is allowed.
    app.extensions["bridge_admin_guesses"] = FailureThrottle(burst=1_000_000)
    return app


def test_the_file_is_valid_openapi_3_1() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_of_the_app_is_described(app: Flask) -> None:
    registered = {
        (method, shape(rule.rule))
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - AUTOMATIC_METHODS
    }
    described = {
        (method.upper(), shape(path))
        for path, operations in spec()["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert registered - NOT_IN_THE_SPEC - described == set(), "routes missing from openapi.yaml"
    assert described - registered == set(), "openapi.yaml describes routes the app lacks"
    assert registered >= NOT_IN_THE_SPEC, "the allow-list names routes that are gone"


# gunicorn's own answers, small HTML pages: they never reach the application.
FROM_GUNICORN = {"UriTooLong"}


def test_every_error_answer_uses_the_one_envelope() -> None:
    document = spec()
    envelope = "#/components/schemas/ErrorEnvelope"
    for name, response in document["components"]["responses"].items():
        if name in FROM_GUNICORN:
            assert list(response["content"]) == ["text/html"], name
            continue
        assert response["content"]["application/json"]["schema"] == {"$ref": envelope}, name
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                    assert "$ref" in response, f"{method} {path} {status}"


def test_every_operation_lists_gunicorns_414_and_admin_ones_the_nul_400() -> None:
    """Any request line can be too long; any admin URL can hold a NUL (see below for the
    answers themselves, and test_bad_input_served.py for gunicorn's 414)."""
    for path, operations in spec()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method} {path}"
            assert responses["414"] == {"$ref": "#/components/responses/UriTooLong"}, where
            if path.startswith("/api/"):
                bad = {"$ref": "#/components/responses/AdminBadRequest"}
                assert responses["400"] == bad, where


def test_no_admin_parameter_allows_the_nul_the_app_refuses() -> None:
    """Else schemathesis draws a NUL as valid data and the 400 reads as a disagreement."""
    document = spec()
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    name = parameter["$ref"].rsplit("/", 1)[-1]
                    parameter = document["components"]["parameters"][name]
                schema = parameter["schema"]
                if schema.get("type") != "string" or "format" in schema:
                    continue  # an enum, a number or a date-time cannot hold a NUL
                pattern = re.compile(schema.get("pattern", ""))
                where = f"{method} {path} {parameter['name']}"
                assert pattern.search("a\x00b") is None, where


def operations() -> list[str]:
    """Every operation of openapi.yaml, by label (``POST /hooks/{source}``)."""
    labels = []
    for result in schemathesis.openapi.from_path(SPEC_PATH).get_all_operations():
        assert isinstance(result, Ok), result.err()
        labels.append(result.ok().label)
    return labels


# Deliveries go to configured sources too, with the website's token, so that fuzzed bodies
# reach verification and parsing rather than stopping at 404.
SOURCES = ["website", "typeform-form", "svix-app", "no-such-source"]
CREDENTIALS = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Bridge-Token": TOKEN}


# schemathesis' own pytest integration (``from_fixture``) does not run under pytest 9, so each
# operation is one test driving hypothesis over the operation's strategy.
@pytest.mark.parametrize("label", operations())
def test_the_app_keeps_to_its_description(
    label: str, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeps_to_its_description(label, tmp_path, database_url, monkeypatch)


# Found by schemathesis with ``--hypothesis-seed=238332685930836728230777504522174991949``
# (issue 13): a NUL in ``source`` of ``GET /api/events`` answered 500 on PostgreSQL.  That
# seed no longer draws a NUL (what a seed draws changes with the description and with
# schemathesis), so each admin parameter is given one here, on purpose.
NUL = "a\x00b"


def admin_parameters() -> list[tuple[str, str, str]]:
    """(operation, location, name) for every path and query parameter of the admin API, and
    one query parameter no operation declares (the refusal comes before the route)."""
    found = []
    for result in schemathesis.openapi.from_path(SPEC_PATH).get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/"):
            continue
        found.append((operation.label, "query", "undeclared"))
        for parameter in operation.iter_parameters():
            if parameter.location.value in {"path", "query"}:
                found.append((operation.label, parameter.location.value, parameter.name))
    return found


@pytest.mark.parametrize(("label", "location", "name"), admin_parameters())
def test_a_nul_in_an_admin_parameter_is_a_documented_400(
    label: str,
    location: str,
    name: str,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    described = schemathesis.openapi.from_path(SPEC_PATH)
    described.app = make_app(tmp_path, database_url, monkeypatch)
    operation = described.find_operation_by_label(label)
    assert operation is not None
    path_parameters = {
        p.name: "ev_1" for p in operation.iter_parameters() if p.location.value == "path"
    }
    query = {}
    if location == "path":
        path_parameters[name] = NUL
    else:
        query[name] = NUL
    case = operation.Case(path_parameters=path_parameters, query=query)
    if label == "POST /api/preview":
        case.body = {"source": "website", "payload": {}}
        case.media_type = "application/json"
    # Checks the answer against the description: a listed status, its schema, its type.
    answer = case.call_and_validate(headers=CREDENTIALS)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == NUL_IN_URL


def keeps_to_its_description(
    label: str,
    directory: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hypothesis over one operation's strategy: every answer keeps to openapi.yaml."""
    described = schemathesis.openapi.from_path(SPEC_PATH)
    described.app = make_app(directory, database_url, monkeypatch)
    operation = described.find_operation_by_label(label)
    assert operation is not None
    excluded: list[Any] = (
        [positive_data_acceptance] if label in POSITIVE_DATA_MAY_BE_REFUSED else []
    )

    @given(case=operation.as_strategy(), source=st.sampled_from(SOURCES))
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def keeps_to_it(case: schemathesis.Case, source: str) -> None:
        if "source" in (case.path_parameters or {}):
            case.path_parameters = {**(case.path_parameters or {}), "source": source}
        case.call_and_validate(headers=CREDENTIALS, excluded_checks=excluded)

    keeps_to_it()
