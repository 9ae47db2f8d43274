"""The rule_sets table: the rules text each digest stands for, so a replay can pin them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bridge.store.db import reading
from bridge.store.tables import rule_sets


def stored_rules(engine: Engine, digest: str) -> str | None:
    """The rules (JSON text) stored under ``digest``; None when they are not (or no longer)."""
    with reading(engine) as conn:
        return conn.execute(
            select(rule_sets.c.text).where(rule_sets.c.digest == digest)
        ).scalar_one_or_none()


def remember_rules(engine: Engine, digest: str, text: str, now: datetime) -> None:
    """Store the rules under their digest unless they already are."""
    with reading(engine) as conn:
        known = conn.execute(
            select(rule_sets.c.digest).where(rule_sets.c.digest == digest)
        ).scalar_one_or_none()
    if known is not None:
        return
    try:
        with engine.begin() as conn:
            conn.execute(insert(rule_sets).values(digest=digest, text=text, created_at=now))
    except IntegrityError:
        pass  # stored by another worker meanwhile
