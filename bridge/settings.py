"""Process settings from the environment (the YAML config file holds the rest)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# A SQLite file beside the working directory; DATABASE_URL names any other database.
DEFAULT_DATABASE_URL = "sqlite:///var/bridge.sqlite"
# The config file when neither --config nor BRIDGE_CONFIG names one.
DEFAULT_CONFIG_PATH = "bridge.yaml"


def config_path(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Where every command finds its config: ``--config``, else BRIDGE_CONFIG, else bridge.yaml."""
    env = os.environ if env is None else env
    return explicit or env.get("BRIDGE_CONFIG") or DEFAULT_CONFIG_PATH


CONFIG_HELP = "the config file (default $BRIDGE_CONFIG, else ./bridge.yaml)"

# Requests each web process serves at once: gunicorn's ``gthread`` threads
# (bridge/gunicorn_conf.py).
DEFAULT_WEB_THREADS = 16


class SettingsError(ValueError):
    """An environment variable has a value the bridge cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number") from None


def web_threads(env: Mapping[str, str] | None = None) -> int:
    """``WEB_THREADS``, else 16, for gunicorn's config; ``bridge serve`` checks it first."""
    threads = _int(os.environ if env is None else env, "WEB_THREADS", DEFAULT_WEB_THREADS)
    if threads < 1:
        raise SettingsError("WEB_THREADS must be 1 or more")
    return threads


@dataclass(frozen=True)
class Settings:
    """What the environment says: database, config file, admin token, limits."""

    database_url: str = DEFAULT_DATABASE_URL
    config_path: str = DEFAULT_CONFIG_PATH
    admin_token: str | None = None
    max_body_bytes: int = 256 * 1024
    log_level: str = "INFO"
    port: int = 8000
    # Seconds a request may take before gunicorn gives up on it.
    web_timeout: int = 30
    # Seconds a webhook body may take to arrive before the answer is 408 (slow senders).
    body_read_seconds: int = 10
    # Seconds a database statement may wait for a lock (or run) before it fails.
    db_timeout: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read DATABASE_URL, BRIDGE_CONFIG, BRIDGE_ADMIN_TOKEN, PORT and the limits."""
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            config_path=config_path(None, env),
            admin_token=env.get("BRIDGE_ADMIN_TOKEN") or None,
            max_body_bytes=_int(env, "BRIDGE_MAX_BODY_BYTES", 256 * 1024),
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            port=_int(env, "PORT", 8000),
            web_timeout=_int(env, "BRIDGE_WEB_TIMEOUT", 30),
            body_read_seconds=_int(env, "BRIDGE_BODY_READ_SECONDS", 10),
            db_timeout=_int(env, "BRIDGE_DB_TIMEOUT", 10),
        )
