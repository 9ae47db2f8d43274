"""Where prometheus_client keeps each process's numbers (its multiprocess mode).

prometheus_client picks its storage when first imported, so ``bridge serve``
and ``bridge worker`` call :func:`use_multiprocess_dir` before anything
imports it; this module must not import it either.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METRIC_FILE = re.compile(r"^[a-z_]+_(\d+)\.db$")


def default_multiprocess_dir(env: MutableMapping[str, str]) -> Path:
    """A directory per deployment: the temp dir, keyed by the database and config in use."""
    key = "|".join(
        (
            os.getcwd(),
            env.get("DATABASE_URL", ""),
            os.path.abspath(env.get("BRIDGE_CONFIG", "bridge.yaml")),
        )
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"bridge-metrics-{digest}"


def use_multiprocess_dir(env: MutableMapping[str, str], *, clean: bool) -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR in ``env`` if unset, create it, optionally clean it.

    Cleaning removes the files of processes that are no longer running, so a
    worker started before the web process keeps its numbers.
    """
    directory = Path(env.get(MULTIPROC_ENV) or default_multiprocess_dir(env))
    env[MULTIPROC_ENV] = str(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if clean:
        for path in directory.iterdir():
            match = _METRIC_FILE.match(path.name)
            if match and not _running(int(match.group(1))):
                path.unlink(missing_ok=True)
    return directory


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
