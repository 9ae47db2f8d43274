"""Two glibc malloc arenas per process: gunicorn's processes by their environment, the worker
by ``mallopt``; an operator's own ``MALLOC_ARENA_MAX`` is left as it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.malloc_arenas import limit_for_exec
from tests.support.processes import start_web, wait_for

pytestmark = pytest.mark.skipif(
    not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc only"
)

# Eight threads alive at once, each allocating blocks glibc serves (larger than pymalloc's
# 512 bytes, smaller than the mmap threshold); then glibc's own report of its arenas.
COUNT_ARENAS = """
import ctypes, sys, tempfile, threading
from bridge.malloc_arenas import limit_here
if sys.argv[1] == "limited":
    assert limit_here()
barrier = threading.Barrier(8)
def allocate():
    blocks = [bytes(4000) for _ in range(50)]
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.NamedTemporaryFile() as report:
    handle = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, handle)
    libc.fclose(handle)
    print(open(report.name).read().count("<heap nr="))
"""


def arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return int(done.stdout.strip())


def test_the_worker_s_limit_keeps_eight_threads_to_two_arenas() -> None:
    assert arenas("default") > 2  # glibc's own limit is eight per core: the test can fail
    assert arenas("limited") <= 2


def test_an_operator_s_setting_is_kept() -> None:
    mine = {"MALLOC_ARENA_MAX": "4"}
    limit_for_exec(mine)
    assert mine == {"MALLOC_ARENA_MAX": "4"}
    empty: dict[str, str] = {}
    limit_for_exec(empty)
    assert empty == {"MALLOC_ARENA_MAX": "2"}


def test_gunicorn_s_master_and_workers_run_with_two_arenas(
    bridge_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    web, _url = start_web(bridge_env, tmp_path / "web.log", workers=2)
    try:
        master = web.process.pid
        listing = Path(f"/proc/{master}/task/{master}/children")
        children = wait_for(lambda: len(listing.read_text().split()) == 2 and listing.read_text())
        children = children.split()
        for pid in [master, *map(int, children)]:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_ARENA_MAX=2" in environ, pid
    finally:
        web.stop()
