"""Config.masked(): JSON-able, complete, and without a single secret."""

from __future__ import annotations

import json

from bridge.config import load_config

EXTRA = """
alerts:
  webhook_url: https://hooks.slack.example/services/T000/B000/${SLACK_PATH}?token=${ALERT_TOKEN}
  smtp:
    host: smtp.venue.example
    from: bridge@venue.example
    to: ops@venue.example
    username: bridge
    password: ${SMTP_PASSWORD}
"""


def test_masked_hides_every_secret(write_config, env, valid_text) -> None:
    env.update(
        SLACK_PATH="slackpath-93e1c0", ALERT_TOKEN="alerttok-55d2", SMTP_PASSWORD="smtp-pw-0b7f"
    )
    text = valid_text.replace(
        "    type: ivvy\n", "    type: ivvy\n    ignore_api_keys: [other-key-8812]\n"
    )
    config = load_config(write_config(text + EXTRA), env)
    dumped = json.dumps(config.masked())
    for secret in [*env.values(), "other-key-8812"]:
        assert secret not in dumped, secret
    masked = config.masked()
    assert masked["ivvy"]["secret"] == "***"
    assert masked["ivvy"]["key"] == "***"
    assert masked["sources"]["website"]["token"] == "***"
    assert masked["sources"]["typeform"]["secrets"] == ["***"]
    assert masked["sources"]["ivvy"]["own_api_key"] == "***"
    assert masked["alerts"]["smtp"]["password"] == "***"
    assert masked["alerts"]["webhook_url"] == "https://hooks.slack.example/***?***"


def test_masked_keeps_what_is_not_secret(write_config, env, valid_text) -> None:
    config = load_config(write_config(valid_text), env)
    masked = config.masked()
    assert masked["ivvy"]["base_url"] == "https://api.ap-southeast-2.ivvy.com"
    assert masked["ivvy"]["timezone"] == "Australia/Sydney"
    assert masked["sources"]["website"]["path"] == "/hooks/website"
    assert masked["sources"]["ivvy"]["topics"] == [
        "arn:aws:sns:ap-southeast-2:123456789012:iVvy_Account_41_ab12_NotifCrm"
    ]
    assert [rule["name"] for rule in masked["rules"]] == ["website-enquiry", "opportunity-won"]
    assert masked["delivery"]["max_age"] == 86400.0
    assert masked["rules_digest"] == config.rules_digest
    assert json.loads(json.dumps(masked)) == masked


def test_a_secret_reused_elsewhere_is_hidden_there_too(write_config, env, valid_text) -> None:
    text = valid_text.replace(
        "    type: form\n", "    type: form\n    description: uses ${WEBSITE_TOKEN} as its token\n"
    )
    config = load_config(write_config(text), env)
    assert config.masked()["sources"]["website"]["description"] == "uses *** as its token"
    assert env["WEBSITE_TOKEN"] not in repr(config)


def test_secret_values_lists_every_secret(write_config, env, valid_text) -> None:
    env.update(
        SLACK_PATH="slackpath-93e1c0", ALERT_TOKEN="alerttok-55d2", SMTP_PASSWORD="smtp-pw-0b7f"
    )
    config = load_config(write_config(valid_text + EXTRA), env)
    values = config.secret_values()
    assert set(env.values()) - {"slackpath-93e1c0", "alerttok-55d2"} <= set(values)
    assert any("slackpath-93e1c0" in value for value in values)  # the whole webhook URL
    assert "Australia/Sydney" not in values
