"""Accepting deliveries: the event, its dedupe key and its job in one commit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from bridge.events import Event
from bridge.store.accept_statements import write_accepted
from bridge.store.db import reading
from bridge.store.events import parsed_columns
from bridge.store.job_notices import NOTIFY_CHANNEL
from bridge.store.states import EventState, JobState
from bridge.store.tables import dedupe_keys, events, jobs
from bridge.store.types import new_id

log = logging.getLogger(__name__)

# The kind of an event whose body the worker has not parsed yet (the column is not null).
UNPARSED_KIND = ""
# Built once: parameters passed at execute time reuse the compiled statement.
_INSERT_JOB = insert(jobs)


@dataclass(frozen=True)
class AcceptResult:
    """The stored event's id, and whether the delivery was a duplicate of an earlier one."""

    event_id: str
    duplicate: bool


def _bounded_key(key: str) -> str:
    # Keys come from senders; a pathological one is hashed rather than truncated
    # so two long keys sharing a prefix stay distinct.
    if len(key) <= 255:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def ready_job(event_id: str, now: datetime, rules_digest: str | None = None) -> dict[str, Any]:
    """The row of a new job for an event, ready to run at ``now``."""
    return dict(
        event_id=event_id,
        state=JobState.READY,
        run_at=now,
        created_at=now,
        attempts=0,
        claims=0,
        rules_digest=rules_digest,
    )


def enqueue(
    conn: Connection, event_id: str, now: datetime, rules_digest: str | None = None
) -> None:
    """Add a ready job for an event, inside the caller's transaction, and wake the workers."""
    conn.execute(_INSERT_JOB, ready_job(event_id, now, rules_digest))
    if conn.dialect.name == "postgresql":
        # Delivered at commit, so a worker never wakes for a job it cannot see yet.
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def accept(
    engine: Engine,
    event: Event,
    dedupe_key: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str,
    now: datetime,
) -> AcceptResult:
    """Store a delivery parsed at the door with its job, or find the event it duplicates."""
    return _accept(
        engine,
        event.source,
        event.source_type,
        dedupe_key,
        parsed_columns(event),
        dict(headers=dict(headers), body=body, content_type=content_type[:255]),
        now,
    )


def accept_unparsed(
    engine: Engine,
    *,
    source: str,
    source_type: str,
    dedupe_key: str,
    sender_id: str | None,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str,
    now: datetime,
) -> AcceptResult:
    """Store a verified delivery whose body the worker parses, with its job; or its duplicate.

    Until the worker's parse, the event has no kind (``UNPARSED_KIND``), email or payload; its
    ``external_id`` is the sender's id the door read, which the parse may refine.
    """
    return _accept(
        engine,
        source,
        source_type,
        dedupe_key,
        dict(kind=UNPARSED_KIND, external_id=sender_id and sender_id[:255], email=None, event=None),
        dict(headers=dict(headers), body=body, content_type=content_type[:255]),
        now,
    )


def _accept(
    engine: Engine,
    source: str,
    source_type: str,
    dedupe_key: str,
    parsed: Mapping[str, Any],
    request: Mapping[str, Any],
    now: datetime,
) -> AcceptResult:
    key = _bounded_key(dedupe_key)
    event_id = new_id("ev_")
    try:
        _write_accepted_retrying_a_dead_connection(
            engine,
            dict(source=source, key=key, event_id=event_id, created_at=now),
            dict(
                id=event_id,
                source=source,
                source_type=source_type,
                dedupe_key=key,
                received_at=now,
                updated_at=now,
                state=EventState.RECEIVED,
                **parsed,
                **request,
            ),
            ready_job(event_id, now),
        )
    except IntegrityError:
        existing = find_duplicate(engine, source, key)
        if existing is None:
            raise
        return AcceptResult(existing, duplicate=True)
    return AcceptResult(event_id, duplicate=False)


def _write_accepted_retrying_a_dead_connection(
    engine: Engine, key: Mapping[str, Any], event: Mapping[str, Any], job: Mapping[str, Any]
) -> None:
    """``write_accepted``, tried once more on a new connection when its connection was dead.

    PostgreSQL: a pooled connection used again within ``store.db.IDLE_PING_SECONDS`` is not
    pinged, so after a restart under load the first statement on it fails.  SQLAlchemy then
    flags the error (``connection_invalidated``) and drops every connection pooled before it,
    so the retry connects anew; if the server is still down, that fails too (a 503).

    Could the first attempt have stored the rows?  The statement is autocommitted, and the
    server answers only after its commit, so an answer lost on the way back (the connection
    cut after the commit) leaves the three rows stored.  The retry then inserts the same
    dedupe key (and event id) again and fails on its primary key with an ``IntegrityError``,
    which ``accept`` answers as for any duplicate delivery: with the stored event's id (here
    the one this call made), a 2xx, the event stored once.  Any other error, or a second
    dead connection, goes to the caller as it is (a 503).
    """
    try:
        write_accepted(engine, key, event, job)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning(
            "database connection lost while accepting a delivery; trying once more",
            extra={"source": key["source"]},
        )
        write_accepted(engine, key, event, job)


def find_duplicate(engine: Engine, source: str, key: str) -> str | None:
    """The id of the event first stored under this source and dedupe key, if any."""
    with reading(engine) as conn:
        return conn.execute(
            select(dedupe_keys.c.event_id).where(
                dedupe_keys.c.source == source, dedupe_keys.c.key == key
            )
        ).scalar_one_or_none()


def store_invalid(
    engine: Engine,
    *,
    source: str,
    source_type: str,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str,
    reason: str,
    now: datetime,
) -> str:
    """Keep an authentic delivery that could not be parsed, so nothing is lost; no job.

    A sender that retries the same broken body gets the first row's id back
    instead of adding a row per retry.
    """
    key = "invalid:" + hashlib.sha256(body).hexdigest()
    event_id = new_id("ev_")
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(dedupe_keys).values(
                    source=source, key=key, event_id=event_id, created_at=now
                )
            )
            conn.execute(
                insert(events).values(
                    id=event_id,
                    source=source,
                    source_type=source_type,
                    kind="invalid",
                    dedupe_key=key,
                    received_at=now,
                    updated_at=now,
                    state=EventState.INVALID,
                    content_type=content_type[:255],
                    headers=dict(headers),
                    body=body,
                    event=None,
                    last_error=reason,
                )
            )
    except IntegrityError:
        existing = find_duplicate(engine, source, key)
        if existing is None:
            raise
        return existing
    return event_id
