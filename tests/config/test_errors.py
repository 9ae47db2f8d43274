"""Broken configs: every error names file:line and the path inside the file; all are reported."""

from __future__ import annotations

import pytest

from bridge.config import ConfigError, load_config


def line_of(text: str, anchor: str, occurrence: int = 1) -> int:
    """1-based line of the n-th occurrence of ``anchor`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(anchor, index + 1)
    return text.count("\n", 0, index) + 1


# (id, [(old, new), ...], path, message fragment, (anchor, occurrence), number of errors)
VARIANTS = [
    (
        "unknown-source-type",
        [("type: typeform", "type: typo-form")],
        "sources.typeform.type",
        "unknown source type 'typo-form'; known types: calendly, form,",
        ("type: typo-form", 1),
        1,
    ),
    (
        "bad-due-unit",
        [('due: "+2 business days at 10:00"', 'due: "+3 fortnights"')],
        "rules[1].task.due",
        "unknown unit 'fortnights'",
        ("+3 fortnights", 1),
        1,
    ),
    (
        "bad-regex",
        [('matches: "@example\\\\.com$"', 'matches: "([a-z"')],
        "rules[0].when.matches",
        "invalid regular expression",
        ("matches:", 1),
        1,
    ),
    (
        "unknown-rule-source",
        [("on: {source: website}", "on: {source: webform}")],
        "rules[0].on.source",
        "no source named 'webform' (configured: ivvy, typeform, website)",
        ("source: webform", 1),
        1,
    ),
    (
        "duplicate-rule-name",
        [("- name: opportunity-won", "- name: website-enquiry")],
        "rules[1].name",
        "duplicate rule name 'website-enquiry' (also rules[0])",
        ("name: website-enquiry", 2),
        1,
    ),
    (
        "missing-ivvy-key",
        [("  key: ${IVVY_API_KEY}\n", "")],
        "ivvy.key",
        "Missing data for required field.",
        ("ivvy:", 1),
        1,
    ),
    (
        "lease-too-short",
        [("lease_seconds: 60", "lease_seconds: 30")],
        "delivery.lease_seconds",
        "must exceed the iVvy call timeout (3.05 s connect + 20 s read) plus a 10 s margin",
        ("lease_seconds", 1),
        1,
    ),
    (
        "bad-timezone",
        [("timezone: Australia/Sydney", "timezone: Australia/Sydnee")],
        "ivvy.timezone",
        "unknown timezone 'Australia/Sydnee'",
        ("timezone:", 1),
        1,
    ),
    (
        "bad-holiday-country",
        [("country: AU", "country: ZZ")],
        "ivvy.holidays.country",
        "unknown country 'ZZ'",
        ("country: ZZ", 1),
        1,
    ),
    (
        "bad-holiday-subdivision",
        [("subdivision: NSW", "subdivision: XYZ")],
        "ivvy.holidays.subdivision",
        "unknown subdivision 'XYZ' for AU (known: ACT, NSW,",
        ("subdivision: XYZ", 1),
        1,
    ),
    (
        "bad-source-name",
        [("  website:\n", "  Web_Site:\n"), ("source: website", "source: Web_Site")],
        "sources.Web_Site",
        "bad source name 'Web_Site': it is the URL segment /hooks/<name>",
        ("Web_Site:", 1),
        1,
    ),
    (
        "source-option-missing",
        [('    secrets: ["${TYPEFORM_SECRET}"]\n', "")],
        "sources.typeform.secrets",
        "a signing secret is required",
        ("typeform:", 1),
        1,
    ),
    (
        "rule-without-owner",
        [('    opportunity: {id: "{{ data.id }}", venue: "{{ data.venueId }}"}\n', "")],
        "rules[1]",
        "say who owns the task",
        ("- name: opportunity-won", 1),
        1,
    ),
    (
        "bad-priority",
        [("priority: high", "priority: urgent")],
        "rules[0].task.priority",
        "use low, medium or high",
        ("priority: urgent", 1),
        1,
    ),
    (
        "unknown-section",
        [("delivery:\n", "delivry:\n")],
        "delivry",
        "unknown section; the sections are ivvy, sources, rules,",
        ("delivry:", 1),
        1,
    ),
    (
        "bad-duration",
        [("  lease_seconds: 60\n", "  lease_seconds: 60\n  max_age: forever\n")],
        "delivery.max_age",
        "not a duration",
        ("max_age", 1),
        1,
    ),
    (
        "dedupe-too-short",
        [("delivery:\n", "retention:\n  dedupe_days: 3\ndelivery:\n")],
        "retention.dedupe_days",
        "must be at least 7 days",
        ("dedupe_days", 1),
        1,
    ),
    (
        "admin-token-in-file",
        [("delivery:\n", "admin:\n  token: hunter2-admin\ndelivery:\n")],
        "admin.token",
        "comes from the BRIDGE_ADMIN_TOKEN environment variable",
        ("token: hunter2", 1),
        1,
    ),
    (
        "duplicate-key",
        [("  region: AU\n", "  region: AU\n  region: US\n")],
        "ivvy.region",
        "duplicate key (again on line 3)",
        ("region: AU", 1),
        1,
    ),
    (
        "region-and-base-url",
        [("  region: AU\n", "  region: AU\n  base_url: https://ivvy.example\n")],
        "ivvy.base_url",
        "give region or base_url, not both",
        ("base_url", 1),
        1,
    ),
]


@pytest.mark.parametrize(
    ("edits", "path", "fragment", "anchor", "count"),
    [pytest.param(*variant[1:], id=variant[0]) for variant in VARIANTS],
)
def test_error_names_file_line_and_path(
    write_config, env, valid_text, edits, path, fragment, anchor, count
) -> None:
    text = valid_text
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    config_path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        load_config(config_path, env)
    errors = caught.value.errors
    prefix = f"{config_path}:{line_of(text, *anchor)} {path}: "
    matching = [e for e in errors if e.startswith(prefix) and fragment in e]
    assert matching, f"expected {prefix}...{fragment}... in {errors}"
    assert len(errors) == count, errors
    assert str(caught.value) == "\n".join(errors)


def test_every_error_is_reported_at_once_in_line_order(write_config, env, valid_text) -> None:
    text = (
        valid_text.replace("timezone: Australia/Sydney", "timezone: Nowhere/Else")
        .replace("type: typeform", "type: nope")
        .replace('due: "+2 business days at 10:00"', 'due: "+3 fortnights"')
        .replace("lease_seconds: 60", "lease_seconds: 5")
    )
    del env["WEBSITE_TOKEN"]
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env)
    paths = [e.split(" ", 2)[1].rstrip(":") for e in caught.value.errors]
    assert paths == [
        "ivvy.timezone",
        "sources.website.token",
        "sources.typeform.type",
        "rules[1].task.due",
        "delivery.lease_seconds",
    ]
    lines = [int(e.split(" ", 1)[0].rsplit(":", 1)[1]) for e in caught.value.errors]
    assert lines == sorted(lines)


def test_secret_values_never_appear_in_errors(write_config, env, valid_text) -> None:
    # The secret lands in a field whose validator echoes the value it refuses.
    text = valid_text.replace("timezone: Australia/Sydney", "timezone: ${IVVY_API_SECRET}")
    text = text.replace("topics: [", "topics: ${WEBSITE_TOKEN}\n    x: [")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(text), env)
    message = str(caught.value)
    assert "ivvy.timezone: unknown timezone '***'" in message
    for secret in env.values():
        assert secret not in message


def test_yaml_syntax_error_names_the_line(write_config) -> None:
    path = write_config("ivvy:\n  key: [unclosed\nsources: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    (error,) = caught.value.errors
    assert error.startswith(f"{path}:3: invalid YAML")


def test_unreadable_file_is_a_config_error(tmp_path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read the config file"):
        load_config(missing, {})


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "plain text\n"])
def test_file_must_be_a_mapping(write_config, text) -> None:
    with pytest.raises(ConfigError, match="the file must be a mapping"):
        load_config(write_config(text), {})


def test_empty_sections_are_reported(write_config) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config("rules: []\n"), {})
    assert [e.split(" ", 1)[1] for e in caught.value.errors] == [
        "ivvy: this section is required",
        "sources: define at least one source (POST /hooks/<name> receives it)",
    ]
