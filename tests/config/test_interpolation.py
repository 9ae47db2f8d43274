"""${VAR} interpolation: present, missing, empty, fallback and the $${ escape."""

from __future__ import annotations

import pytest

from bridge.config import ConfigError, load_config
from bridge.config.interpolate import EnvironmentReader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "alpha"),
        ("x-${A}-${B}-y", "x-alpha-beta-y"),
        ("$${A}", "${A}"),
        ("cost $5 and $A", "cost $5 and $A"),
        ("${UNSET:-fallback}", "fallback"),
        ("${A:-fallback}", "alpha"),
        ("${EMPTY:-}", ""),
        ("$${A} ${B}", "${A} beta"),
        ("no variables", "no variables"),
    ],
)
def test_interpolate_table(text: str, expected: str) -> None:
    reader = EnvironmentReader({"A": "alpha", "B": "beta", "EMPTY": ""})
    assert reader.interpolate(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET}", "environment variable UNSET is not set"),
        ("${EMPTY}", "environment variable EMPTY is empty"),
        ("${A", "unterminated ${"),
        ("${1BAD}", "is not a valid variable reference"),
    ],
)
def test_interpolate_errors(text: str, message: str) -> None:
    reader = EnvironmentReader({"A": "alpha", "EMPTY": ""})
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("{", r"\{")):
        reader.interpolate(text)


def test_values_from_the_environment_reach_the_config(write_config, env, valid_text) -> None:
    config = load_config(write_config(valid_text), env)
    assert config.ivvy.key == env["IVVY_API_KEY"]
    assert config.ivvy.secret == env["IVVY_API_SECRET"]
    assert config.sources["website"].options["token"] == env["WEBSITE_TOKEN"]


def test_missing_variable_is_an_error_with_its_line(write_config, env, valid_text) -> None:
    del env["IVVY_API_SECRET"]
    path = write_config(valid_text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env)
    assert caught.value.errors == [
        f"{path}:4 ivvy.secret: environment variable IVVY_API_SECRET is not set"
    ]


def test_escape_writes_a_literal_dollar_brace(write_config, env, valid_text) -> None:
    text = valid_text.replace(
        'name: "Call {{ first_name }}"', 'name: "Pay $${AMOUNT} to {{ first_name }}"'
    )
    config = load_config(write_config(text), env)
    assert config.rules[0].task.name.source == "Pay ${AMOUNT} to {{ first_name }}"


def test_env_defaults_to_os_environ(write_config, env, valid_text, monkeypatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_config(write_config(valid_text)).ivvy.secret == env["IVVY_API_SECRET"]


def test_region_may_come_from_the_environment(write_config, env, valid_text) -> None:
    text = valid_text.replace("  region: AU\n", "")
    with pytest.raises(ConfigError, match="give region"):
        load_config(write_config(text), env)
    config = load_config(write_config(text), {**env, "IVVY_BASE_URL": "http://127.0.0.1:8001/"})
    assert config.ivvy.base_url == "http://127.0.0.1:8001"
    config = load_config(write_config(text), {**env, "IVVY_REGION": "UK"})
    assert config.ivvy.base_url == "https://api.eu-west-2.ivvy.com"
