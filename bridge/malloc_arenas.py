"""Two malloc arenas per process instead of glibc's default of up to eight per core.

glibc gives each thread that allocates while another holds an arena an arena of its
own, up to eight per core, and an arena keeps the memory its thread freed for later.
The bridge's processes are threaded (gunicorn's ``gthread`` workers, 16 threads each;
the worker's job, heartbeat and wake-up threads), so after a busy spell each held
several arenas' worth of freed memory.  With two, the whole default deployment holds
about 2 MiB less PSS after 10,000 events on SQLite (BENCHMARKS.md, "Memory"); one arena
saved no more.  ``MALLOC_ARENA_MAX`` set by the operator wins: glibc reads it when a
process starts, and these functions then leave it alone.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

ARENAS = 2
ENVIRONMENT = "MALLOC_ARENA_MAX"
_M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (glibc's malloc.h)


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # not glibc: musl, macOS
        return False


def limit_for_exec(environ: MutableMapping[str, str]) -> None:
    """Ask for the limit in the environment of a program about to be executed (gunicorn)."""
    environ.setdefault(ENVIRONMENT, str(ARENAS))


def limit_here() -> bool:
    """Set the limit in this process, before its threads start; whether it was set here."""
    if ENVIRONMENT in os.environ or not _glibc():
        return False
    import ctypes  # only here: the web processes get the limit from their environment

    return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS))
