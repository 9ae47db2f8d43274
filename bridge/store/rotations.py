"""The rotations table: each rule's round-robin position, for assignees that take turns."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Update

from bridge.store.tables import rotations


def _advance(rule: str) -> Update:
    return (
        update(rotations)
        .where(rotations.c.rule == rule)
        .values(counter=rotations.c.counter + 1)
        .returning(rotations.c.counter)
    )


def next_rotation(engine: Engine, rule: str) -> int:
    """The rule's round-robin counter before this call, incremented atomically."""
    with engine.begin() as conn:
        updated = conn.execute(_advance(rule)).scalar_one_or_none()
        if updated is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(rotations).values(rule=rule, counter=1))
                return 0
            except IntegrityError:  # another worker inserted it first: advance theirs
                updated = conn.execute(_advance(rule)).scalar_one()
        return int(updated) - 1
