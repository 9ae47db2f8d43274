"""Fixtures for the form and scheduler source types: samples, a fixed clock, a source factory."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.sources.base import SourceType
from bridge.sources.registry import SOURCE_TYPES, build_source

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """The fixed clock every verification runs against."""
    return NOW


@pytest.fixture
def sample() -> Callable[[str], bytes]:
    """The exact bytes of a vendor sample."""
    return lambda name: (SAMPLES / name).read_bytes()


@pytest.fixture
def vectors() -> dict[str, dict[str, Any]]:
    """The published signature vectors by id."""
    data = json.loads((SAMPLES / "vectors.json").read_text())
    return {vector["id"]: vector for vector in data["vectors"]}


@pytest.fixture
def make_source() -> Callable[..., SourceType]:
    """A source built the way the config loader builds it: options loaded through the schema."""

    def make(type_name: str, name: str = "test-source", **options: Any) -> SourceType:
        loaded = SOURCE_TYPES[type_name].options_schema().load({"type": type_name, **options})
        return build_source(name, loaded)

    return make
