"""The config file: ``load_config(path)`` returns a validated :class:`Config` or raises ConfigError.

The file is YAML; ``${VAR}`` reads the environment (see ``interpolate``);
every error names the file, the line and the path inside it.
"""

from __future__ import annotations

from bridge.config.errors import ConfigError
from bridge.config.loaded_config import Config
from bridge.config.loader import load_config
from bridge.config.sections import (
    AdminSettings,
    AlertSettings,
    BackoffSettings,
    CircuitSettings,
    DeliverySettings,
    IvvySettings,
    RetentionSettings,
    SmtpSettings,
)

__all__ = [
    "AdminSettings",
    "AlertSettings",
    "BackoffSettings",
    "CircuitSettings",
    "Config",
    "ConfigError",
    "DeliverySettings",
    "IvvySettings",
    "RetentionSettings",
    "SmtpSettings",
    "load_config",
]
