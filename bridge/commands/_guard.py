"""Refuse before touching anything: who holds a TCP port, and a data folder's lock file.

Used by ``bridge sandbox`` so that a second one started by mistake neither
binds a taken port nor wipes the database of the one already running.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import IO

LISTEN = "0A"  # the TCP state "listening" in /proc/net/tcp


def port_taken(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be bound now (another process listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # gunicorn sets SO_REUSEADDR too: a port in TIME_WAIT is free, a listening one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def port_holder(port: int) -> int | None:
    """The pid of a process listening on ``port`` (Linux; None when it cannot be seen).

    Reads /proc: only processes of the same user show their sockets, which is the
    case that matters here (a sandbox or a bridge started by the same person).
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    holders = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in targets:
                    holders.append(int(proc.name))
                    break
        except OSError:  # another user's process, or one that just ended
            continue
    # gunicorn's workers inherit the master's socket: the lowest pid is the master.
    return min(holders) if holders else None


def describe_process(pid: int) -> str:
    """``pid 1234 (bridge sandbox ...)``: the pid and, when readable, its command line."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid}"
    words = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    command = " ".join(words)
    if len(command) > 80:
        command = command[:77] + "..."
    return f"pid {pid} ({command})" if command else f"pid {pid}"


class FolderInUse(Exception):
    """Another process holds the data folder's lock; ``pid`` is the one written in the lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        super().__init__(f"{path} is locked by {describe_process(pid) if pid else 'a process'}")


class FolderLock:
    """An exclusive ``flock`` on ``<folder>/<name>``, holding this process's pid.

    The kernel drops the lock when the process ends, however it ends, so a lock
    file left behind by a killed sandbox never blocks the next one.
    """

    def __init__(self, folder: Path, name: str = "sandbox.lock") -> None:
        self.path = folder / name
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`FolderInUse` (the folder is created if missing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            handle.close()
            raise FolderInUse(self.path, int(text) if text.isdigit() else None) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let the lock go (the file stays; an unlocked file means nothing)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
