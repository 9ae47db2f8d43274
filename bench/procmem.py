"""Memory of a group of processes, from /proc: PSS per process and the pages the group holds.

PSS (``/proc/<pid>/smaps_rollup``) charges each resident page to the processes that map it in
equal parts, so the PSS of a deployment's processes adds up to what they cost together.  But a
page shared with a process *outside* the group (libpython, a ``.so`` of the venv mapped by the
benchmark's own Python processes) is charged partly outside, so the sum is a little lower than
what the group would cost alone.  ``distinct_mib`` counts that instead: every physical page
(frame) mapped by any process of the group, once (``/proc/<pid>/pagemap``, needs root).
"""

from __future__ import annotations

from array import array
from pathlib import Path

# smaps_rollup lines kept, in kB there, in MiB here.
FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Private_Clean", "Private_Dirty", "Swap")
PAGE = 4096
_PRESENT = 1 << 63
_PFN_MASK = (1 << 55) - 1


def rollup(pid: int) -> dict[str, float]:
    """The process's smaps_rollup totals in MiB (``Uss`` = its private pages)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if name in FIELDS:
            values[name] = round(int(rest.split()[0]) / 1024, 1)
    values["Uss"] = round(values.get("Private_Clean", 0.0) + values.get("Private_Dirty", 0.0), 1)
    return values


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children of any of its threads, recursively)."""
    found: list[int] = []
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for thread in threads:
        try:
            children = (thread / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            found.extend(descendants(child))
    return found


def _frames(pid: int) -> set[int]:
    """The physical frames of every resident page the process maps."""
    frames: set[int] = set()
    ranges = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        bounds, *rest = line.split()
        if rest and rest[-1] == "[vsyscall]":
            continue
        start, end = (int(part, 16) for part in bounds.split("-"))
        ranges.append((start, end))
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for start, end in ranges:
            pagemap.seek(start // PAGE * 8)
            entries = array("Q")
            try:
                entries.frombytes(pagemap.read((end - start) // PAGE * 8))
            except OSError:  # a mapping the kernel will not describe ([vvar] on some kernels)
                continue
            frames.update(entry & _PFN_MASK for entry in entries if entry & _PRESENT)
    frames.discard(0)  # 0 when the reader lacks CAP_SYS_ADMIN: no frame numbers at all
    return frames


def distinct_mib(pids: list[int]) -> float | None:
    """MiB of physical memory the processes hold together, each page once (None without root)."""
    frames: set[int] = set()
    for pid in pids:
        try:
            frames |= _frames(pid)
        except OSError:
            return None
    if not frames:
        return None
    return round(len(frames) * PAGE / 2**20, 1)


def _mapping_class(path: str) -> str:
    """What a mapping of ``/proc/<pid>/smaps`` holds, by the file behind it (none: anonymous)."""
    if not path.startswith("/"):
        return "anonymous"  # the heap, thread stacks, Python's and glibc's arenas
    if "/psycopg" in path:
        return "psycopg"  # psycopg_binary's extension and the libpq, libssl... it bundles
    if "site-packages" in path:
        return "other venv files"
    if "libpython" in path or "/bin/python" in path or "/lib/python3" in path:
        return "python"
    return "system files"


def by_mapping(pid: int) -> dict[str, float]:
    """The process's PSS in MiB by what its mappings hold (``_mapping_class``)."""
    kib: dict[str, int] = {}
    kind = "anonymous"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(maxsplit=5)
        if "-" in first[0] and not first[0].endswith(":"):  # a mapping's header line
            kind = _mapping_class(first[5] if len(first) > 5 else "")
        elif first[0] == "Pss:":
            kib[kind] = kib.get(kind, 0) + int(first[1])
    return {name: round(value / 1024, 1) for name, value in sorted(kib.items())}


def group(named: dict[str, list[int]]) -> dict[str, object]:
    """PSS of every process by role, their sum, and the group's distinct pages."""
    processes = {
        role: [dict(rollup(pid), pid=pid, by_mapping=by_mapping(pid)) for pid in pids]
        for role, pids in named.items()
    }
    every = [entry for entries in processes.values() for entry in entries]
    total = {
        name: round(sum(float(entry.get(name, 0.0)) for entry in every), 1)
        for name in ("Rss", "Pss", "Pss_Anon", "Pss_File", "Uss")
    }
    pids = [pid for pids in named.values() for pid in pids]
    return {"processes": processes, "sum": total, "distinct_mib": distinct_mib(pids)}
