"""The one-click deploy: Heroku's app.json, the Procfile and .python-version agree with the code."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bridge.cli import build_parser
from bridge.config import load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bridge.yaml"
# Fields of Heroku's app.json schema (devcenter.heroku.com/articles/app-json-schema).
TOP_LEVEL = {
    "name", "description", "keywords", "website", "repository", "logo", "success_url",
    "scripts", "env", "formation", "image", "addons", "buildpacks", "environments", "stack",
}  # fmt: skip
ENV_FIELDS = {"description", "value", "required", "generator"}


class RecordingEnv(Mapping[str, str]):
    """An environment that answers every name with a plausible value and remembers each read."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        if name in ("IVVY_BASE_URL", "IVVY_REGION", "ALERT_WEBHOOK_URL"):
            raise KeyError(name)  # optional: the example config's own values apply
        return f"value-of-{name.lower()}"

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "app.json").read_text())
    return loaded


def procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_the_manifest_has_only_known_fields_of_the_right_types() -> None:
    app = manifest()
    assert set(app) <= TOP_LEVEL, set(app) - TOP_LEVEL
    assert isinstance(app["name"], str) and 3 <= len(app["name"]) <= 30
    for name, spec in app["env"].items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert set(spec) <= ENV_FIELDS, (name, set(spec) - ENV_FIELDS)
        assert spec["description"].strip(), name
        assert isinstance(spec.get("required", True), bool), name
        assert spec.get("generator", "secret") == "secret", name
        assert isinstance(spec.get("value", ""), str), name
    assert [pack["url"] for pack in app["buildpacks"]] == ["heroku/python"]


def test_web_and_worker_run_on_postgresql_and_the_release_migrates() -> None:
    app = manifest()
    processes = procfile()
    assert set(app["formation"]) == {"web", "worker"}
    for kind, formation in app["formation"].items():
        assert kind in processes
        assert formation["quantity"] >= 1
    assert processes["release"] == "bridge db upgrade"
    assert processes["web"] == "bridge serve"
    assert processes["worker"] == "bridge worker"
    # Each process line is a real command of this project.
    parser = build_parser()
    for line in processes.values():
        args = parser.parse_args(line.split()[1:])
        assert callable(args.func)
    plans = [addon["plan"] if isinstance(addon, dict) else addon for addon in app["addons"]]
    assert any(plan.startswith("heroku-postgresql") for plan in plans)
    # The add-on sets DATABASE_URL; nobody should be asked for it.
    assert "DATABASE_URL" not in app["env"]


def test_the_admin_token_is_generated() -> None:
    token = manifest()["env"]["BRIDGE_ADMIN_TOKEN"]
    assert token["generator"] == "secret"
    assert "value" not in token


def test_every_variable_the_example_config_reads_is_listed() -> None:
    env_spec = manifest()["env"]
    config_path = env_spec["BRIDGE_CONFIG"]["value"]
    assert (REPO / config_path).is_file()
    env = RecordingEnv()
    load_config(EXAMPLE, env=env)
    assert {"IVVY_API_KEY", "IVVY_API_SECRET", "WEBSITE_FORM_TOKEN"} <= env.read  # it read some
    missing = env.read - set(env_spec)
    assert not missing, f"app.json does not list {sorted(missing)}"
    # A variable the file reads without a fallback is required: the app must not start without it.
    text = EXAMPLE.read_text()
    live = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    no_fallback = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", live))
    assert no_fallback, "the example reads no required variable?"
    for name in no_fallback:
        assert env_spec[name].get("required", True) is True, name
    for name in set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-", live)):
        assert env_spec[name].get("required") is False, name


def test_the_python_version_is_one_the_project_supports() -> None:
    version = (REPO / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version), "major.minor only, so the platform applies patches"
    assert tuple(map(int, version.split("."))) >= (3, 11)
    # The platform installs requirements.txt: the project itself with the PostgreSQL driver.
    requirements = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == [".[postgres]"]
    assert sys.version_info >= (3, 11)
