"""Schema migrations with Alembic, driven from code (no alembic.ini needed).

Alembic is imported only by what migrates.  Knowing whether a database is current
needs none of it: the head is read from the scripts' own ``revision`` lines and the
database's revision from its ``alembic_version`` table, so the web process (which
asks on every ``/readyz``) does not carry Alembic's ~10 MiB (BENCHMARKS.md, "Memory").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from bridge.store.db import build_engine, normalise_url

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(?:[\"']([^\"']+)[\"']|None)\s*$")


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations and the given database."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is an ini file underneath: '%' must be doubled.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (creating a SQLite file if needed)."""
    from alembic import command

    engine = build_engine(database_url)
    try:
        with engine.begin() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@cache
def head_revision() -> str | None:
    """The newest revision the code knows: the one no script names as its ``down_revision``.

    The scripts form one line (no branches, no merges); more than one head is an error,
    as it is for Alembic's ``upgrade head``.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for line in script.read_text().splitlines():
            match = _REVISION_LINE.match(line)
            if match and match[2]:
                (revisions if match[1] == "revision" else parents).add(match[2])
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have more than one head: {sorted(heads)}")
    return next(iter(heads), None)


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None when never migrated).

    Read directly: Alembic's MigrationContext logs to the root logger, which a
    command's stdout may be (JSON output must stay clean).
    """
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision; SQLAlchemyError when it does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        return current_revision(conn) == head_revision()
