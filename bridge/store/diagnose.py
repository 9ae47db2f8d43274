"""Database problems explained in one line, and opening a database without creating it.

Commands call :func:`open_existing` (read-only ones never create a database, a
file or a folder) and turn any :class:`DatabaseProblem` or SQLAlchemy error into
one line with :func:`explain`; the line never carries the URL's password.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bridge.store.db import build_engine, normalise_url
from bridge.store.migrate import current_revision, head_revision

SUPPORTED = "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME (postgres:// accepted)"
UPGRADE = "run `bridge db upgrade`"


class DatabaseProblem(Exception):
    """A database the command cannot use, with the reason as one line for a person."""


def parse_database_url(url: str) -> URL:
    """The URL, or DatabaseProblem when it does not parse or names an unsupported scheme."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise DatabaseProblem(f"DATABASE_URL does not parse as a URL; use {SUPPORTED}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql") or parsed.get_driver_name() not in (
        "pysqlite",
        "psycopg",
    ):
        raise DatabaseProblem(
            f"DATABASE_URL scheme {parsed.drivername!r} is not supported; use {SUPPORTED}"
        )
    return parsed


def where(url: str) -> str:
    """The database for a message: a SQLite path, or the PostgreSQL URL without password."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return "DATABASE_URL"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)


def _sqlite_file_problem(path: Path) -> str | None:
    if not path.parent.is_dir():
        return f"no database at {path}: the folder {path.parent} does not exist"
    if not path.exists():
        return f"no database at {path}: {UPGRADE} to create it"
    if not os.access(path, os.R_OK):
        return f"permission denied reading {path}"
    return None


def open_existing(url: str, *, migrated: bool = True) -> Engine:
    """An engine on a database that exists (and, with ``migrated``, is at the code's revision).

    A SQLite file that is missing is reported, never created (nor its folder).
    """
    parsed = parse_database_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        problem = _sqlite_file_problem(Path(database))
        if problem:
            raise DatabaseProblem(problem)
    engine = build_engine(url, create_folder=False)
    if migrated:
        try:
            check_migrated(engine, url)
        except BaseException:
            engine.dispose()
            raise
    return engine


def check_migrated(engine: Engine, url: str) -> None:
    """DatabaseProblem unless the database is at the newest revision the code knows."""
    with engine.connect() as conn:
        current = current_revision(conn)
    head = head_revision()
    if current is None:
        raise DatabaseProblem(f"the database at {where(url)} is not migrated: {UPGRADE}")
    if current != head:
        raise DatabaseProblem(
            f"the database at {where(url)} is at revision {current}, this code needs {head}: "
            f"{UPGRADE}"
        )


def explain(exc: BaseException, url: str) -> str:
    """One line for a person: what went wrong with the database, and what to do."""
    if isinstance(exc, DatabaseProblem):
        return str(exc)
    if isinstance(exc, ArgumentError):
        return f"DATABASE_URL does not parse as a URL; use {SUPPORTED}"
    place = where(url)
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    lower = text.lower()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "connection refused" in lower:
        return f"cannot connect to {place}: connection refused (is the server running there?)"
    if "could not translate host name" in lower or "name or service not known" in lower:
        return f"cannot connect to {place}: the host name is not known"
    if "timeout expired" in lower or "timed out" in lower:
        return f"cannot connect to {place}: no answer (timed out)"
    if "role" in lower and "does not exist" in lower:
        return f"{place} refused the user name: no such role"
    if "does not exist" in lower and "database" in lower:
        return f"the database named in {place} does not exist; create it, then {UPGRADE}"
    if "password authentication failed" in lower or "no password supplied" in lower:
        return f"{place} refused the user name or password"
    if "permission denied" in lower or "readonly database" in lower:
        return f"permission denied by the database at {place}: {first}"
    if "unable to open database file" in lower:
        return f"cannot open {place}: the file or its folder cannot be read or written"
    if (
        "no such table" in lower
        or "undefinedtable" in lower
        or ("relation" in lower and "does not exist" in lower)
    ):
        return f"the database at {place} is not migrated: {UPGRADE}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error at {place}: {first}"
    return f"{type(exc).__name__}: {first}"
