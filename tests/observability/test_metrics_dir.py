"""The multiprocess directory: chosen per deployment when unset, cleaned of dead processes only."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bridge.metrics_dir import MULTIPROC_ENV, default_multiprocess_dir, use_multiprocess_dir


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_unset_directory_is_one_per_deployment(tmp_path: Path) -> None:
    one = {"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite", "BRIDGE_CONFIG": "a.yaml"}
    two = {"DATABASE_URL": f"sqlite:///{tmp_path}/b.sqlite", "BRIDGE_CONFIG": "a.yaml"}
    assert default_multiprocess_dir(one) == default_multiprocess_dir(dict(one))
    assert default_multiprocess_dir(one) != default_multiprocess_dir(two)
    assert default_multiprocess_dir(one).parent == Path(tempfile.gettempdir())


def test_cleaning_keeps_the_files_of_running_processes(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    alive = directory / f"counter_{os.getpid()}.db"
    dead = directory / f"histogram_{_dead_pid()}.db"
    other = directory / "notes.txt"
    for path in (alive, dead, other):
        path.write_bytes(b"x")
    env = {MULTIPROC_ENV: str(directory)}
    assert use_multiprocess_dir(env, clean=False) == directory
    assert env[MULTIPROC_ENV] == str(directory)
    assert dead.exists()
    use_multiprocess_dir(env, clean=True)
    assert alive.exists() and other.exists() and not dead.exists()
