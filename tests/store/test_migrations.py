"""Migrations: the head schema has the indexes ``tables.py`` declares, partial where they are,
and 0006 goes both ways."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from bridge.store.db import build_engine
from bridge.store.migrate import alembic_config, current_revision, head_revision
from bridge.store.tables import PARTIAL_INDEX_WHERE, metadata


def _migrate(database_url: str, step: str, revision: str) -> None:
    engine = build_engine(database_url)
    try:
        with engine.begin() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            getattr(command, step)(config, revision)
    finally:
        engine.dispose()


def _state(database_url: str) -> tuple[str | None, dict[str, set[str]]]:
    """The revision, and the ``ix_`` index names of each table."""
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            indexes = {
                table: {i["name"] for i in found.get_indexes(table) if i["name"].startswith("ix_")}
                for table in found.get_table_names()
                if table != "alembic_version"
            }
            return current_revision(conn), indexes
    finally:
        engine.dispose()


def test_the_head_schema_has_the_indexes_the_tables_declare(database_url):
    revision, indexes = _state(database_url)
    assert revision == head_revision() == "0006"
    declared = {t.name: {str(i.name) for i in t.indexes} for t in metadata.sorted_tables}
    assert indexes == declared


def test_the_jobs_partial_indexes_are_partial_as_migrated(database_url):
    # tables.py names these indexes without their predicate (it would load a dialect in
    # every process), so this is where a migration that lost its WHERE would show.
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            found = {i["name"]: i for i in inspect(conn).get_indexes("jobs")}
            dialect = conn.dialect.name
    finally:
        engine.dispose()
    for name, predicate in PARTIAL_INDEX_WHERE.items():
        where = found[name]["dialect_options"].get(f"{dialect}_where")
        assert where is not None, name
        if dialect == "sqlite":
            assert str(where) == predicate  # SQLite keeps the text as written
        else:
            column = predicate.split()[0]  # PostgreSQL keeps it rewritten: its column stays
            assert column in str(where)
    assert found["ix_jobs_event"]["dialect_options"].get(f"{dialect}_where") is None


def test_0006_downgrades_and_upgrades_again(database_url):
    _, at_head = _state(database_url)
    assert {"ix_jobs_finished", "ix_jobs_due"} <= at_head["jobs"]
    assert "ix_task_keys_delivery" in at_head["task_keys"]

    _migrate(database_url, "downgrade", "0005")
    revision, before = _state(database_url)
    assert revision == "0005"
    assert before["jobs"] == at_head["jobs"] - {"ix_jobs_finished"}
    assert before["task_keys"] == set()
    assert {t: i for t, i in before.items() if t not in ("jobs", "task_keys")} == {
        t: i for t, i in at_head.items() if t not in ("jobs", "task_keys")
    }

    _migrate(database_url, "upgrade", "head")
    assert _state(database_url) == ("0006", at_head)
