"""One country's public holidays, loading that country's module alone.

``holidays.country_holidays`` imports ``holidays.countries``, whose ``__init__``
imports every one of its ~250 countries, and ``list_supported_countries`` loads
them all for their subdivisions: 7.8 MiB in every process that loads the config
(BENCHMARKS.md, "Memory").  A country's module needs only the library's base
modules, so it is loaded here from its file under its own name; if anything
imports ``holidays.countries`` later, that finds it loaded and uses the same class.
A country whose module does import another country's loads that one too.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import holidays
from holidays.registry import COUNTRIES

_LOCK = threading.Lock()


def _country_class(country: str) -> type[holidays.HolidayBase] | None:
    """The class for a country code or alias (AU, AUS, UK), its module alone (None if unknown)."""
    modules = [module for module, (_, *codes) in COUNTRIES.items() if country in codes]
    if not modules:
        return None
    name = f"holidays.countries.{modules[0]}"
    with _LOCK:
        loaded = sys.modules.get(name)
        if loaded is None:
            path = Path(holidays.__file__).parent / "countries" / f"{modules[0]}.py"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return None
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[name] = loaded
            try:
                spec.loader.exec_module(loaded)
            except BaseException:
                del sys.modules[name]
                raise
    # The class named by the code, as the library's own country_holidays returns.
    found: type[holidays.HolidayBase] = getattr(loaded, country)
    return found


def subdivisions(country: str) -> list[str] | None:
    """The country's subdivision codes (None for an unknown country).

    What ``holidays.list_supported_countries()[country]`` gives, which loads every country.
    """
    found = _country_class(country)
    return None if found is None else list(found.subdivisions)


def country_holidays(
    country: str, *, subdiv: str | None = None, years: int | Iterable[int] | None = None
) -> holidays.HolidayBase:
    """As ``holidays.country_holidays``: NotImplementedError for an unknown subdivision."""
    found = _country_class(country)
    if found is None:
        return holidays.country_holidays(country, subdiv=subdiv, years=years)
    return found(subdiv=subdiv, years=years)
