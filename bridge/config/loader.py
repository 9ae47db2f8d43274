"""Reading the config file: YAML with lines, ``${VAR}``, schemas, cross-checks, all errors."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

from marshmallow import Schema, ValidationError

from bridge.config import schema
from bridge.config.errors import ConfigError, ErrorCollector
from bridge.config.interpolate import EnvironmentReader
from bridge.config.loaded_config import Config, business_calendar
from bridge.config.masking import collect_secrets, is_secret_path
from bridge.config.sections import DeliverySettings, IvvySettings
from bridge.config.yaml_lines import LoadedYaml, Path, YamlSyntaxError, load_yaml_with_lines
from bridge.sources.base import SourceType
from bridge.sources.registry import SOURCE_TYPES, build_source

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SECTIONS = ("ivvy", "sources", "rules", "delivery", "retention", "alerts", "admin")
LEASE_MARGIN_SECONDS = 10.0


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config file; raise :class:`ConfigError` listing every problem."""
    filename = os.fspath(path)
    env = os.environ if env is None else env
    try:
        text = FilePath(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([f"{filename}: cannot read the config file: {reason}"]) from None
    reader = EnvironmentReader(env)
    secrets: set[str] = set()

    def interpolate(where: Path, value: str) -> str:
        result = reader.interpolate(value)
        if result != value and is_secret_path(where):
            secrets.add(result)
        return result

    try:
        loaded = load_yaml_with_lines(text, interpolate)
    except YamlSyntaxError as exc:
        where = f"{filename}:{exc.line}" if exc.line else filename
        raise ConfigError([f"{where}: {exc.message}"]) from None
    errors = ErrorCollector(filename, loaded, secrets | collect_secrets(loaded.value))
    for problem_path, message in loaded.problems:
        errors.add(problem_path, message)
    config = _build(filename, loaded, env, errors)
    errors.raise_if_any()
    assert config is not None
    return config


def _build(
    filename: str, loaded: LoadedYaml, env: Mapping[str, str], errors: ErrorCollector
) -> Config | None:
    data = loaded.value
    if not isinstance(data, dict):
        errors.add((), "the file must be a mapping with ivvy, sources and rules sections")
        return None
    for key in data:
        if key not in SECTIONS:
            errors.add((key,), f"unknown section; the sections are {', '.join(SECTIONS)}")

    ivvy_data = data.get("ivvy")
    if isinstance(ivvy_data, dict) and not (ivvy_data.get("region") or ivvy_data.get("base_url")):
        # The environment may choose the account's address (design: IVVY_BASE_URL / IVVY_REGION).
        if env.get("IVVY_BASE_URL"):
            ivvy_data = {**ivvy_data, "base_url": env["IVVY_BASE_URL"]}
        elif env.get("IVVY_REGION"):
            ivvy_data = {**ivvy_data, "region": env["IVVY_REGION"]}
    ivvy = _section(errors, "ivvy", ivvy_data, schema.IvvySchema(), required=True)
    if isinstance(ivvy, IvvySettings):
        _check_calendar(errors, ivvy)
    own_key = ivvy_data.get("key") if isinstance(ivvy_data, dict) else None
    sources = _sources(errors, data.get("sources"), own_key if isinstance(own_key, str) else None)
    source_names = set(data["sources"]) if isinstance(data.get("sources"), dict) else set()
    rules = _rules(errors, data.get("rules"), source_names)
    delivery = _section(errors, "delivery", data.get("delivery"), schema.DeliverySchema())
    retention = _section(errors, "retention", data.get("retention"), schema.RetentionSchema())
    alerts = _section(errors, "alerts", data.get("alerts"), schema.AlertsSchema())
    admin = _section(errors, "admin", data.get("admin"), schema.AdminSchema())
    if isinstance(delivery, DeliverySettings):
        # Judge the lease against the defaults when the ivvy section itself is broken.
        timeouts = ivvy if isinstance(ivvy, IvvySettings) else IvvySettings("", "", "")
        _check_lease(errors, timeouts, delivery)
    if errors.entries or ivvy is None:
        return None
    rules_text = loaded.section_text("rules")
    return Config(
        path=filename,
        ivvy=ivvy,
        sources=sources,
        rules=rules,
        delivery=delivery,
        retention=retention,
        alerts=alerts,
        admin=admin,
        rules_text=rules_text,
        rules_digest=hashlib.sha256(rules_text.encode()).hexdigest(),
        rules_data=list(data.get("rules") or []),
    )


def _section(
    errors: ErrorCollector, name: str, value: Any, section: Schema, required: bool = False
) -> Any:
    if value is None:
        if required:
            errors.add((name,), "this section is required")
            return None
        value = {}
    if not isinstance(value, dict):
        errors.add((name,), "must be a mapping")
        return None
    try:
        return section.load(value)
    except ValidationError as exc:
        errors.add_messages((name,), exc.messages)
        return None


def _check_calendar(errors: ErrorCollector, ivvy: IvvySettings) -> None:
    try:
        business_calendar(ivvy)
    except ValueError as exc:
        errors.add(("ivvy",), str(exc))


def _check_lease(errors: ErrorCollector, ivvy: IvvySettings, delivery: DeliverySettings) -> None:
    minimum = ivvy.connect_timeout_seconds + ivvy.timeout_seconds + LEASE_MARGIN_SECONDS
    if delivery.lease_seconds <= minimum:
        errors.add(
            ("delivery", "lease_seconds"),
            f"must exceed the iVvy call timeout ({ivvy.connect_timeout_seconds:g} s connect + "
            f"{ivvy.timeout_seconds:g} s read) plus a {LEASE_MARGIN_SECONDS:g} s margin, "
            f"i.e. more than {minimum:g}",
        )


def _sources(errors: ErrorCollector, value: Any, own_key: str | None) -> dict[str, SourceType]:
    if value is None:
        errors.add(("sources",), "define at least one source (POST /hooks/<name> receives it)")
        return {}
    if not isinstance(value, dict) or not value:
        errors.add(("sources",), "must be a mapping of source names to their options")
        return {}
    built: dict[str, SourceType] = {}
    known = ", ".join(sorted(SOURCE_TYPES))
    for name, options in value.items():
        where: Path = ("sources", name)
        if not SOURCE_NAME.match(name):
            errors.add(
                where,
                f"bad source name {name!r}: it is the URL segment /hooks/<name>, so use "
                "lower-case letters, digits, '-' and '_', starting with a letter or digit",
            )
        if not isinstance(options, dict):
            errors.add(where, "must be a mapping with at least a type")
            continue
        type_name = options.get("type")
        if type_name is None:
            errors.add((*where, "type"), f"missing; known types: {known}")
            continue
        if type_name not in SOURCE_TYPES:
            errors.add((*where, "type"), f"unknown source type {type_name!r}; known types: {known}")
            continue
        given = dict(options)
        if type_name == "ivvy" and own_key:
            given["own_api_key"] = own_key  # so the bridge skips echoes of its own writes
        try:
            loaded = SOURCE_TYPES[type_name].options_schema().load(given)
        except ValidationError as exc:
            errors.add_messages(where, exc.messages)
            continue
        try:
            built[name] = build_source(name, loaded)
        except (ValueError, TypeError, KeyError) as exc:
            errors.add(where, str(exc))
    return built


def _rules(errors: ErrorCollector, value: Any, source_names: set[str]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(("rules",), "must be a list of rules")
        return []
    from bridge.rules.schema import RuleSchema

    rule_schema = RuleSchema()
    rules: list[Any] = []
    loaded: list[tuple[int, Any]] = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(value):
        where: Path = ("rules", index)
        if not isinstance(raw, dict):
            errors.add(where, "a rule must be a mapping with name, on, task and an owner")
            continue
        name = raw.get("name")
        if isinstance(name, str) and name in first_seen:
            first = first_seen[name]
            errors.add((*where, "name"), f"duplicate rule name {name!r} (also rules[{first}])")
        elif isinstance(name, str):
            first_seen[name] = index
        _check_rule_sources(errors, where, raw.get("on"), source_names)
        try:
            rules.append(rule_schema.load(raw))
            loaded.append((index, rules[-1]))
        except ValidationError as exc:
            errors.add_messages(where, exc.messages)
    _check_actions(errors, loaded)
    return rules


def _check_actions(errors: ErrorCollector, loaded: list[tuple[int, Any]]) -> None:
    """An action's ``tasks_of`` names rules that create tasks (rules/actions.py)."""
    creating = {rule.name for _, rule in loaded if rule.task is not None}
    for index, rule in loaded:
        if rule.action is None:
            continue
        for name in rule.action.of_rules:
            if name not in creating:
                known = ", ".join(sorted(creating)) or "none"
                errors.add(
                    ("rules", index, rule.action.action, "tasks_of"),
                    f"no rule named {name!r} creates tasks (rules with a task: {known})",
                )


def _check_rule_sources(errors: ErrorCollector, where: Path, on: Any, names: set[str]) -> None:
    if not isinstance(on, dict):
        return
    configured = ", ".join(sorted(names)) or "none"
    single = on.get("source")
    if isinstance(single, str) and single not in names:
        message = f"no source named {single!r} (configured: {configured})"
        errors.add((*where, "on", "source"), message)
    listed = on.get("sources")
    if isinstance(listed, list):
        for position, item in enumerate(listed):
            if isinstance(item, str) and item not in names:
                errors.add(
                    (*where, "on", "sources", position),
                    f"no source named {item!r} (configured: {configured})",
                )
