"""Holidays from one country's module alone: the same days as the library, without the rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import holidays
import pytest

from bridge.rules.country_holidays import country_holidays, subdivisions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("country", "subdiv"), [("AU", "NSW"), ("AU", None), ("GB", "ENG"), ("US", "CA"), ("NZ", None)]
)
def test_the_same_days_and_names_as_the_library(country: str, subdiv: str | None) -> None:
    ours = country_holidays(country, subdiv=subdiv, years=[2026, 2027])
    theirs = holidays.country_holidays(country, subdiv=subdiv, years=[2026, 2027])
    assert dict(ours.items()) == dict(theirs.items())
    assert len(ours) > 5
    assert type(ours) is type(theirs)


def test_an_unknown_subdivision_is_refused_as_the_library_does() -> None:
    with pytest.raises(NotImplementedError):
        country_holidays("AU", subdiv="XX")


def test_one_country_loads_one_country_module() -> None:
    probe = (
        "import sys\n"
        "from bridge.rules.country_holidays import country_holidays, subdivisions\n"
        "assert 'NSW' in subdivisions('AU')\n"
        "assert country_holidays('AU', subdiv='NSW', years=2026)\n"
        "print(len([m for m in sys.modules if m.startswith('holidays.countries.')]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == 1  # the library's own country_holidays loads ~250


@pytest.mark.parametrize("country", ["AU", "AUS", "GB", "UK", "US", "NZ"])
def test_subdivisions_as_the_library_lists_them(country: str) -> None:
    assert subdivisions(country) == holidays.list_supported_countries()[country]


def test_an_unknown_country_has_no_subdivisions() -> None:
    assert subdivisions("ZZ") is None
