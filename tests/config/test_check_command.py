"""``bridge check``: exit codes and output, through the real CLI entry point."""

from __future__ import annotations

import base64

import pytest

from bridge.cli import main


def set_env(monkeypatch, env) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_valid_config_lists_sources_and_rules(write_config, env, valid_text, monkeypatch, capsys):
    set_env(monkeypatch, env)
    path = write_config(valid_text)
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{path}: OK (iVvy https://api.ap-southeast-2.ivvy.com, ")
    assert "  website   form      POST /hooks/website" in out
    assert "  ivvy      ivvy      POST /hooks/ivvy" in out
    assert "  opportunity-won\n    on     source ivvy, kind OpportunityUpdated" in out
    assert "    owner  contact by email {{ email }}, created when missing" in out
    assert "    owner  opportunity {{ data.id }}" in out
    assert "    due    +1 business day at 09:00" in out
    for secret in env.values():
        assert secret not in out


def test_invalid_config_prints_every_error_and_exits_1(
    write_config, env, valid_text, monkeypatch, capsys
):
    set_env(monkeypatch, env)
    text = valid_text.replace("type: typeform", "type: nope")
    text = text.replace("priority: high", "priority: x")
    path = write_config(text)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"{path}:13 sources.typeform.type: unknown source type 'nope'")
    assert lines[1].startswith(f"{path}:29 rules[0].task.priority: ")
    assert lines[2] == f"{path}: 2 errors"


def test_file_defaults_to_bridge_config(write_config, env, valid_text, monkeypatch, capsys):
    set_env(monkeypatch, env)
    path = write_config(valid_text)
    monkeypatch.setenv("BRIDGE_CONFIG", str(path))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK")


def test_no_file_at_all(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    assert "bridge.yaml: cannot read the config file" in capsys.readouterr().err


def test_missing_secret_fails_check_without_showing_others(
    write_config, env, valid_text, monkeypatch, capsys
):
    set_env(monkeypatch, env)
    monkeypatch.delenv("IVVY_API_SECRET")
    path = write_config(valid_text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:4 ivvy.secret: environment variable IVVY_API_SECRET is not set" in err
    assert env["IVVY_API_KEY"] not in err


NEW_LEAD_RULE = """  - name: big-enquiry
    on: {source: website}
    new_lead:
      name: "{{ first_name }} {{ last_name }}"
      source_id: 1
      type_id: 1
      stage_id: 1
    task:
      name: "Send a proposal"
      due: "+2 business days at 10:00"
"""


def test_a_new_lead_without_an_industry_is_refused_with_the_reason(
    write_config, env, valid_text, monkeypatch, capsys
):
    # Every new_lead belongs to a contact, and iVvy refuses such a lead without industryId.
    set_env(monkeypatch, env)
    path = write_config(valid_text.replace("rules:\n", "rules:\n" + NEW_LEAD_RULE, 1))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"{path}:22 rules[0].new_lead.industry_id: is required: iVvy refuses a lead that "
        "belongs to a contact without industryId (the account's industry id)"
    )
    fixed = NEW_LEAD_RULE.replace("stage_id: 1\n", "stage_id: 1\n      industry_id: 2\n")
    path = write_config(valid_text.replace("rules:\n", "rules:\n" + fixed, 1))
    assert main(["check", str(path)]) == 0, capsys.readouterr().err


SHORT_WHSEC = "whsec_" + base64.b64encode(b"16 bytes of key.").decode()
LONG_WHSEC = "whsec_" + base64.b64encode(b"k" * 65).decode()
SVIX_SOURCE = """  svix:
    type: standard-webhooks
    secret: "${SVIX_SECRET}"
"""


@pytest.mark.parametrize(
    ("variable", "value", "where"),
    [
        ("IVVY_API_SECRET", "   ", "ivvy.secret: must not be blank"),
        ("IVVY_API_KEY", " \t ", "ivvy.key: must not be blank"),
        ("TYPEFORM_SECRET", "    ", "sources.typeform.secrets: a signing secret is blank"),
        ("WEBSITE_TOKEN", "  ", "sources.website.token: a token is blank"),
    ],
)
def test_blank_secrets_fail_check(
    write_config, env, valid_text, monkeypatch, capsys, variable, value, where
):
    set_env(monkeypatch, {**env, variable: value})
    path = write_config(valid_text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert where in err, err


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        (SHORT_WHSEC, False),
        (LONG_WHSEC, False),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", True),  # 24 bytes, the specification's example
    ],
)
def test_standard_webhooks_secrets_shorter_or_longer_than_the_spec_fail_check(
    write_config, env, valid_text, monkeypatch, capsys, secret, ok
):
    set_env(monkeypatch, {**env, "SVIX_SECRET": secret})
    text = valid_text.replace("  ivvy:\n    type: ivvy", SVIX_SOURCE + "  ivvy:\n    type: ivvy")
    path = write_config(text)
    assert main(["check", str(path)]) == (0 if ok else 1)
    err = capsys.readouterr().err
    assert ok or "sources.svix.secrets: a secret must be whsec_ and the base64 of 24 to 64" in err
    assert secret not in err
