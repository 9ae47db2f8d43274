"""RSS of one country's holidays loaded the bridge's way, with and without the package's init.

    .venv/bin/python bench/holidays_import.py      # runs each way twice, each in a new process

``rules/country_holidays.py`` loads one country's module alone, but ``import holidays`` still
runs the package's ``__init__`` (lazy loaders for every country, the version lookup).  The
``stub`` way puts a package object that never ran ``__init__`` in ``sys.modules`` first, so
only the modules the country needs load: the difference is what skipping ``__init__`` would
save.  The libraries the worker imports anyway are imported before the first reading.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _measure(way: str) -> None:
    sys.path.insert(0, str(REPO))
    import dateutil.parser  # noqa: F401  (what the worker has loaded anyway)
    import marshmallow  # noqa: F401
    import prometheus_client  # noqa: F401
    import requests  # noqa: F401
    import sqlalchemy  # noqa: F401
    import yaml  # noqa: F401

    before = _rss_kib()
    if way == "stub":
        spec = importlib.util.find_spec("holidays")
        assert spec is not None
        package = importlib.util.module_from_spec(spec)  # __init__ never runs
        sys.modules["holidays"] = package
        from holidays.holiday_base import HolidayBase

        package.HolidayBase = HolidayBase  # type: ignore[attr-defined]
    from bridge.rules.country_holidays import country_holidays

    country_holidays("AU", subdiv="NSW", years=[2026, 2027])
    print(f"{way:7} {_rss_kib() - before} KiB")


def main() -> None:
    if len(sys.argv) > 1:
        _measure(sys.argv[1])
        return
    for _ in range(2):
        for way in ("package", "stub"):
            subprocess.run([sys.executable, __file__, way], check=True)


if __name__ == "__main__":
    main()
