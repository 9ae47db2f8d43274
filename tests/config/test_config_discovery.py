"""Every command finds the config as serve does: --config, BRIDGE_CONFIG, bridge.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.settings import Settings, config_path

ENV = {"IVVY_API_KEY": "key-1234", "IVVY_API_SECRET": "secret-5678", "FORM_TOKEN": "tok-9"}
CONFIG = """\
ivvy: {region: AU, key: "${IVVY_API_KEY}", secret: "${IVVY_API_SECRET}", timezone: UTC}
sources:
  website: {type: form, token: "${FORM_TOKEN}"}
rules:
  - name: RULE
    on: {source: website}
    company: {id: 1}
    task: {name: "Call {{ first_name }}", due: "+1 day"}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bridge.yaml").write_text(CONFIG.replace("RULE", "from-cwd"))
    (tmp_path / "env.yaml").write_text(CONFIG.replace("RULE", "from-env"))
    (tmp_path / "flag.yaml").write_text(CONFIG.replace("RULE", "from-flag"))
    (tmp_path / "form.json").write_text(json.dumps({"first_name": "Tom"}))
    return tmp_path


def test_the_one_helper_reads_flag_then_environment_then_the_default() -> None:
    assert config_path("a.yaml", {"BRIDGE_CONFIG": "b.yaml"}) == "a.yaml"
    assert config_path(None, {"BRIDGE_CONFIG": "b.yaml"}) == "b.yaml"
    assert config_path(None, {"BRIDGE_CONFIG": ""}) == "bridge.yaml"
    assert Settings.from_env({}).config_path == config_path(None, {})


def _rule_checked(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return next(name for name in ("from-cwd", "from-env", "from-flag") if name in out)


@pytest.mark.parametrize("command", ["check", "preview"])
def test_check_and_preview_find_the_config_as_serve_does(
    folder: Path, command: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    argv = ["check"] if command == "check" else ["preview", "--source", "website", "form.json"]
    assert _rule_checked(capsys, argv) == "from-cwd"
    monkeypatch.setenv("BRIDGE_CONFIG", str(folder / "env.yaml"))
    assert _rule_checked(capsys, argv) == "from-env"
    assert _rule_checked(capsys, [*argv, "--config", "flag.yaml"]) == "from-flag"


def test_without_any_config_the_commands_name_the_file_they_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    for argv in (["check"], ["preview", "--source", "website", "x.json"], ["ivvy", "ping"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "bridge.yaml: cannot read the config file" in err, (argv, err)


def test_prune_finds_the_config_as_serve_does(
    folder: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    (folder / "bridge.yaml").write_text(
        CONFIG.replace("RULE", "from-cwd") + "retention: {events_days: 3, dedupe_days: 9}\n"
    )
    assert main(["prune", "--dry-run", "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["dry_run"] is True
    (folder / "bridge.yaml").write_text("ivvy: [")  # now only --config names a valid file
    assert main(["prune", "--dry-run"]) == 1
    assert "bridge.yaml" in capsys.readouterr().err
    assert main(["prune", "--dry-run", "--config", "flag.yaml"]) == 0
