"""The rotations table: each rule's round-robin position, for assignees that take turns."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bridge.store.tables import rotations


def next_rotation(engine: Engine, rule: str) -> int:
    """The rule's round-robin counter before this call, incremented atomically."""
    with engine.begin() as conn:
        updated = conn.execute(
            update(rotations)
            .where(rotations.c.rule == rule)
            .values(counter=rotations.c.counter + 1)
            .returning(rotations.c.counter)
        ).scalar_one_or_none()
        if updated is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(rotations).values(rule=rule, counter=1))
                return 0
            except IntegrityError:
                updated = conn.execute(
                    update(rotations)
                    .where(rotations.c.rule == rule)
                    .values(counter=rotations.c.counter + 1)
                    .returning(rotations.c.counter)
                ).scalar_one()
        return int(updated) - 1
