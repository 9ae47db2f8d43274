"""The sandbox's records, in memory, behind one lock, seedable from JSON."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

KINDS = ("users", "venues", "companies", "contacts", "leads", "tasks", "subscriptions")
# Opportunities are leads with a venueId; a seed may list them apart for readability.
SEED_ALIASES = {"opportunities": "leads"}
MAX_CALLS_KEPT = 1000

Record = dict[str, Any]


def packaged_seed() -> dict[str, Any]:
    """The seed shipped with the package (bridge/ivvy/sandbox/seed.json)."""
    text = resources.files("bridge.ivvy.sandbox").joinpath("seed.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def normalise_seed(seed: Mapping[str, Any]) -> dict[str, list[Record]]:
    """The seed as ``{kind: [record, ...]}``; ValueError naming what is wrong."""
    if not isinstance(seed, Mapping):
        raise ValueError("a seed must be a JSON object")
    result: dict[str, list[Record]] = {kind: [] for kind in KINDS}
    for name, records in seed.items():
        kind = SEED_ALIASES.get(name, name)
        if kind not in KINDS:
            raise ValueError(f"unknown seed section {name!r}; expected one of {', '.join(KINDS)}")
        if not isinstance(records, list):
            raise ValueError(f"seed section {name!r} must be a list")
        for position, record in enumerate(records):
            where = f"{name}[{position}]"
            if not isinstance(record, Mapping):
                raise ValueError(f"{where} must be an object")
            if isinstance(record.get("id"), bool) or not isinstance(record.get("id"), int):
                raise ValueError(f"{where} needs an integer id")
            if name == "opportunities" and record.get("venueId") is None:
                raise ValueError(f"{where} needs a venueId")
            result[kind].append(copy.deepcopy(dict(record)))
    for kind, records in result.items():
        ids = [record["id"] for record in records]
        if len(ids) != len(set(ids)):
            raise ValueError(f"seed section {kind!r} repeats an id")
    return result


class SandboxState:
    """Contacts, companies, leads (incl. opportunities), tasks, users and venues, plus a call log.

    ``lock`` is re-entrant; the app holds it for the whole of each API call, so an action reads
    and writes a consistent picture. Readers outside a call use the copying accessors.
    """

    def __init__(self, seed: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self._seed: dict[str, list[Record]] = normalise_seed(seed or {})
        self._records: dict[str, dict[int, Record]] = {}
        self._next_ids: dict[str, int] = {}
        self._calls: list[dict[str, Any]] = []
        self.reset()

    @classmethod
    def from_seed(cls, source: str | Path | Mapping[str, Any] | None = None) -> SandboxState:
        """A state loaded from a seed dict, a JSON file path, or the packaged seed (None)."""
        if source is None:
            return cls(packaged_seed())
        if isinstance(source, str | Path):
            return cls(json.loads(Path(source).read_text("utf-8")))
        return cls(source)

    def load_seed(self, seed: Mapping[str, Any]) -> None:
        """Replace every record with the seed's, which also becomes what ``reset`` returns to."""
        normalised = normalise_seed(seed)
        with self.lock:
            self._seed = normalised
            self.reset()

    def reset(self) -> None:
        """Back to the seed: records replaced, ids restarted, call log emptied."""
        with self.lock:
            self._records = {
                kind: {record["id"]: copy.deepcopy(record) for record in self._seed[kind]}
                for kind in KINDS
            }
            self._next_ids = {kind: max(self._records[kind], default=0) + 1 for kind in KINDS}
            self._calls = []

    def table(self, kind: str) -> dict[int, Record]:
        """The live records of one kind by id; use only while holding ``lock``."""
        return self._records[kind]

    def get(self, kind: str, record_id: int | None) -> Record | None:
        """The live record, or None; use only while holding ``lock``."""
        if record_id is None:
            return None
        return self._records[kind].get(record_id)

    def insert(self, kind: str, record: Record) -> Record:
        """Store a new record under the next id of its kind and return it (live)."""
        with self.lock:
            record_id = self._next_ids[kind]
            self._next_ids[kind] = record_id + 1
            stored = {**record, "id": record_id}
            self._records[kind][record_id] = stored
            return stored

    def records(self, kind: str) -> list[Record]:
        """Copies of one kind's records, by id."""
        with self.lock:
            table = self._records[kind]
            return [copy.deepcopy(table[key]) for key in sorted(table)]

    def log_call(self, entry: dict[str, Any]) -> None:
        """Remember one API call (the most recent calls only)."""
        with self.lock:
            self._calls.append(entry)
            del self._calls[:-MAX_CALLS_KEPT]

    def calls(self) -> list[dict[str, Any]]:
        """Copies of the logged API calls, oldest first."""
        with self.lock:
            return copy.deepcopy(self._calls)
