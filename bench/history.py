"""A grown bridge database: N events already handled, as weeks of a busy account leave them.

Templates first: a few signed Typeform deliveries go through the bridge's own ``parse`` and
``accept`` and a real ``Worker`` against the sandbox iVvy (``seed.seeded_worker``), so every
row (event, dedupe key, done job, done delivery, attempt) is one the bridge itself wrote. Those
rows are then cloned N times in bulk with SQLAlchemy core (executemany, one transaction per
batch, durability relaxed as in ``seed.py``). What varies per clone is what an index sees:
ids, the dedupe key, the external id, the email, the timestamps (spread evenly over ``days``)
and the Typeform id inside the body; the stored ``event`` and task JSON are the template's.
Every clone keeps the template's sizes (a 5 KB body, its JSON copy, the headers).
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.engine import Engine

from bench import stack
from bench.seed import _fast_engine, seeded_worker
from bridge.store.tables import attempts, dedupe_keys, deliveries, events, jobs
from bridge.store.types import new_id

TEMPLATE_TAG = "tmpl"
HISTORY_TAG = "hist"


@dataclass
class Template:
    """One handled event and the rows that came with it, as read back from the database."""

    token: str  # the Typeform id in the body ("tmpl-3"), replaced in each clone
    event: dict[str, Any]
    key: dict[str, Any]
    jobs: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    attempts: list[dict[str, Any]]


def _rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(table))]


def templates_in(root: Path) -> list[Template]:
    """:func:`make_templates` in ``root/templates``, against a sandbox started for them alone."""
    (root / "templates").mkdir()
    sandbox, ivvy_url = stack.start_sandbox(root / "template-sandbox.log")
    try:
        return make_templates(root / "templates", ivvy_url)
    finally:
        sandbox.stop()


def make_templates(directory: Path, ivvy_url: str, count: int = 8) -> list[Template]:
    """``count`` events handled end to end by the bridge on a scratch SQLite database."""
    config = stack.bench_config(directory, ivvy_url)
    saved = dict(os.environ)  # seeded_worker exports the config's variables; put them back
    try:
        return _handled(directory, config, count)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _handled(directory: Path, config: Path, count: int) -> list[Template]:
    with seeded_worker("sqlite", directory, config, TEMPLATE_TAG, count) as worker:
        worker.run_pending(count)
        engine = worker.runtime.engine
        by_event: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for name, table in (("jobs", jobs), ("deliveries", deliveries), ("attempts", attempts)):
            for row in _rows(engine, table):
                by_event[row["event_id"]][name].append(row)
        keys = {row["event_id"]: row for row in _rows(engine, dedupe_keys)}
        templates = []
        for row in _rows(engine, events):
            related = by_event[row["id"]]
            if row["state"] != "done" or [j["state"] for j in related["jobs"]] != ["done"]:
                raise RuntimeError(f"template event not handled: {row['state']}, {related}")
            token = row["external_id"]
            templates.append(
                Template(
                    token,
                    row,
                    keys[row["id"]],
                    related["jobs"],
                    related["deliveries"],
                    related["attempts"],
                )
            )
    return templates


def _clone(
    template: Template, number: int, at: datetime, ids: dict[str, int]
) -> Iterator[tuple[Table, dict[str, Any]]]:
    """The rows of history event ``number``, received at ``at``; ``ids`` are the next ids."""
    token = f"{HISTORY_TAG}-{number}"
    event_id = new_id("ev_")
    shift = at - template.event["received_at"]
    event = dict(template.event)
    event.update(
        id=event_id,
        external_id=token,
        dedupe_key=template.event["dedupe_key"].replace(template.token, token),
        email=f"guest.{HISTORY_TAG}.{number}@example.org",
        received_at=at,
        updated_at=event["updated_at"] + shift,
        body=event["body"].replace(f'"{template.token}"'.encode(), f'"{token}"'.encode()),
    )
    key = dict(template.key)
    key.update(event_id=event_id, key=event["dedupe_key"], created_at=key["created_at"] + shift)
    yield dedupe_keys, key
    yield events, event
    job_ids = {}
    for job in template.jobs:
        row = dict(job)
        job_ids[job["id"]] = ids["jobs"]
        ids["jobs"] += 1
        for column in ("run_at", "created_at", "finished_at"):
            row[column] = row[column] + shift
        row.update(id=job_ids[job["id"]], event_id=event_id, lease_expires_at=None)
        yield jobs, row
    for delivery in template.deliveries:
        row = dict(delivery, id=ids["deliveries"], event_id=event_id)
        ids["deliveries"] += 1
        row.update(created_at=row["created_at"] + shift, updated_at=row["updated_at"] + shift)
        yield deliveries, row
    for attempt in template.attempts:
        row = dict(attempt, id=ids["attempts"], event_id=event_id)
        ids["attempts"] += 1
        row.update(job_id=job_ids[attempt["job_id"]], started_at=row["started_at"] + shift)
        yield attempts, row


def _insert(engine: Engine, order: tuple[Table, ...], pending: dict[str, list[Any]]) -> None:
    """One transaction: executemany on SQLite; COPY on PostgreSQL (executemany there costs
    a round trip per few rows and would take a quarter of an hour for a million events)."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for table in order:
                conn.execute(insert(table), pending[table.name])
        return
    # The JSON values are the templates' own objects, shared by every clone: dump each once.
    dumped: dict[int, str] = {}

    def as_text(value: Any) -> str:
        if id(value) not in dumped:
            dumped[id(value)] = json.dumps(value)
        return dumped[id(value)]

    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            for table in order:
                names = [column.name for column in table.columns]
                as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
                with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in pending[table.name]:
                        copy.write_row(
                            [
                                as_text(row[name])
                                if name in as_json and row[name] is not None
                                else row[name]
                                for name in names
                            ]
                        )
        raw.commit()
    finally:
        raw.close()


def _next_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            + 1
            for table in (jobs, deliveries, attempts)
        }


def grow(
    database_url: str,
    templates: list[Template],
    count: int,
    *,
    days: float = 31.0,
    batch: int = 2000,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add ``count`` handled events, received evenly over the ``days`` before ``now``."""
    now = now or datetime.now(UTC)
    first = now - timedelta(days=days)
    step = timedelta(days=days) / count
    engine = _fast_engine(database_url)
    started = time.monotonic()
    try:
        ids = _next_ids(engine)
        # Parents before children (foreign keys): one list per table, inserted in this order.
        order = (dedupe_keys, events, jobs, deliveries, attempts)
        for start in range(0, count, batch):
            pending: dict[str, list[dict[str, Any]]] = {table.name: [] for table in order}
            for number in range(start, min(start + batch, count)):
                template = templates[number % len(templates)]
                for table, row in _clone(template, number, first + step * number, ids):
                    pending[table.name].append(row)
            _insert(engine, order, pending)
        seed_seconds = time.monotonic() - started
        _settle(engine)
    finally:
        engine.dispose()
    return {
        "events": count,
        "days": days,
        "seed_seconds": round(seed_seconds, 1),
        "settle_seconds": round(time.monotonic() - started - seed_seconds, 1),
    }


def _settle(engine: Engine) -> None:
    """What a database weeks old has that a bulk load does not yet: sequences past the
    explicit ids (PostgreSQL), statistics and a vacuumed heap (autovacuum's work), and an
    empty WAL file (SQLite's checkpoints)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (jobs, deliveries, attempts):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per table (to check a grown database holds what it should)."""
    engine = _fast_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (events, dedupe_keys, jobs, deliveries, attempts)
            }
    finally:
        engine.dispose()
