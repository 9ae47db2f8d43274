"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_required() -> bool:
    """CI (and anyone who asks) wants PostgreSQL tests to fail, not skip, without a server."""
    return os.environ.get("BRIDGE_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"


def admin_url() -> str:
    """The server to create test databases on (BRIDGE_TEST_POSTGRES_URL)."""
    url = os.environ.get("BRIDGE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        engine = create_engine(admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    problem = postgres_available()
    if problem is not None:
        message = f"PostgreSQL is not reachable at {make_url(admin_url()).host}: {problem}"
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    name = f"bridge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE ends the connections and drops in one step: a process's thread that
            # connects meanwhile (store.job_notices sends after a test's last accept) cannot
            # slip in between the two, as it could with pg_terminate_backend and then DROP.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
