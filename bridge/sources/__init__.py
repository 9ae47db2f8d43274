"""Source types by name, and building a configured source from its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.sources.base import SourceType

SOURCE_TYPES: dict[str, type[SourceType]] = {}


def register(cls: type[SourceType]) -> type[SourceType]:
    """Class decorator: make a source type available under its ``type_name``."""
    SOURCE_TYPES[cls.type_name] = cls
    return cls


def build_source(name: str, options: Mapping[str, Any]) -> SourceType:
    """The source type named by ``options['type']``, configured with the (validated) options."""
    return SOURCE_TYPES[options["type"]](name, options)


def _load_builtin_types() -> None:
    # Each module registers itself; importing here keeps one place that lists them.
    import importlib

    for module in (
        "form",
        "typeform",
        "tally",
        "jotform",
        "webflow",
        "timestamped_hmac",
        "standard_webhooks",
        "hmac_generic",
        "ivvy",
    ):
        importlib.import_module(f"bridge.sources.{module}")


_load_builtin_types()
