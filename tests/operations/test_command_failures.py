"""Every command explains its failure in one line, without a traceback, and the read-only ones
create nothing: real ``bridge`` processes, real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridge.store.migrate import upgrade
from tests.support.databases import admin_url, fresh_postgres_database

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "examples" / "sandbox.yaml"
PAYLOAD = REPO / "examples" / "payloads" / "website-enquiry.json"
CONFIG_ENV = {
    "IVVY_BASE_URL": "http://127.0.0.1:9",
    "IVVY_API_KEY": "key",
    "IVVY_API_SECRET": "secret",
    "BRIDGE_SANDBOX_TOKEN": "token",
}
READ_ONLY = [
    ["dead"],
    ["replay", "--state", "dead", "--dry-run"],
    ["prune", "--dry-run"],
    ["backtest", "--source", "website"],
]
UNUSED_PORT_URL = "postgresql://postgres@127.0.0.1:9/test"


def bridge(
    cwd: Path, args: list[str], database_url: str | None
) -> subprocess.CompletedProcess[str]:
    """Run ``bridge ARGS`` in ``cwd`` as a person would, with DATABASE_URL set or not."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BRIDGE_CONFIG")}
    env.update(CONFIG_ENV, BRIDGE_CONFIG=str(EXAMPLE_CONFIG), PYTHONPATH=str(REPO))
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_failure(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The failure line, after checking it is one line, starts with the command, exit 1."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"bridge {command}: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def everything_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_without_database_url_nothing_is_created(tmp_path: Path, args: list[str]) -> None:
    line = one_line_failure(bridge(tmp_path, args, None), args[0])
    assert "no database at var/bridge.sqlite" in line
    assert "DATABASE_URL is not set" in line
    assert everything_under(tmp_path) == set()


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_a_missing_sqlite_file_or_folder_is_reported_not_created(
    tmp_path: Path, args: list[str]
) -> None:
    url = "sqlite:///nonexistent/dir/x.sqlite"
    line = one_line_failure(bridge(tmp_path, args, url), args[0])
    assert "the folder nonexistent/dir does not exist" in line
    (tmp_path / "empty").mkdir()
    line = one_line_failure(bridge(tmp_path, args, "sqlite:///empty/x.sqlite"), args[0])
    assert "no database at empty/x.sqlite: run `bridge db upgrade`" in line
    assert everything_under(tmp_path) == {tmp_path / "empty"}


def test_check_and_preview_create_nothing(tmp_path: Path) -> None:
    checked = bridge(tmp_path, ["check", str(EXAMPLE_CONFIG)], None)
    assert checked.returncode == 0, checked.stderr
    previewed = bridge(tmp_path, ["preview", "--source", "website", str(PAYLOAD)], None)
    assert previewed.returncode == 0, previewed.stderr
    assert "[MATCH] website-enquiry" in previewed.stdout
    assert everything_under(tmp_path) == set()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not-a-url", "DATABASE_URL does not parse as a URL; use sqlite:///PATH or postgresql://"),
        ("mysql://u:pw@db.example/x", "scheme 'mysql' is not supported; use sqlite:///PATH or"),
        ("postgresql+asyncpg://u@h/x", "scheme 'postgresql+asyncpg' is not supported"),
    ],
)
@pytest.mark.parametrize("args", [*READ_ONLY, ["db", "upgrade"], ["worker"], ["serve"]])
def test_a_url_that_cannot_be_used_is_named(
    tmp_path: Path, args: list[str], url: str, expected: str
) -> None:
    line = one_line_failure(
        bridge(tmp_path, args, url), " ".join(args[:2] if args[0] == "db" else args[:1])
    )
    assert expected in line
    assert "pw" not in line
    assert everything_under(tmp_path) == set()


@pytest.mark.parametrize("args", [*READ_ONLY, ["db", "upgrade"]], ids=lambda a: " ".join(a))
def test_a_refused_port_is_named(tmp_path: Path, args: list[str]) -> None:
    command = "db upgrade" if args[0] == "db" else args[0]
    line = one_line_failure(bridge(tmp_path, args, UNUSED_PORT_URL), command)
    assert "cannot connect to postgresql://postgres@127.0.0.1:9/test: connection refused" in line


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.mark.postgres
def test_postgres_missing_unmigrated_behind_and_forbidden(
    tmp_path: Path, empty_postgres: str
) -> None:
    missing = make_url(empty_postgres).set(database="no_such_db_here").render_as_string(False)
    line = one_line_failure(bridge(tmp_path, ["dead"], missing), "dead")
    assert "no_such_db_here does not exist; create it, then run `bridge db upgrade`" in line

    for args in READ_ONLY:
        line = one_line_failure(bridge(tmp_path, args, empty_postgres), args[0])
        assert line.endswith("is not migrated: run `bridge db upgrade`"), line

    upgrade(empty_postgres, "0001")
    line = one_line_failure(bridge(tmp_path, ["dead"], empty_postgres), "dead")
    assert "is at revision 0001, this code needs" in line
    assert line.endswith("run `bridge db upgrade`")
    upgraded = bridge(tmp_path, ["db", "upgrade"], empty_postgres)
    assert upgraded.returncode == 0, upgraded.stderr
    assert bridge(tmp_path, ["dead"], empty_postgres).stdout == "no dead jobs\n"

    role = f"bridge_nobody_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    try:
        forbidden = make_url(empty_postgres).set(username=role).render_as_string(False)
        for args in READ_ONLY:
            line = one_line_failure(bridge(tmp_path, args, forbidden), args[0])
            assert "permission denied" in line
        line = one_line_failure(
            bridge(tmp_path, ["dead"], missing.replace("postgres@", "x@")), "dead"
        )
        assert "refused the user name" in line
    finally:
        with admin.connect() as conn:
            name = make_url(empty_postgres).database
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'REVOKE ALL ON DATABASE "{name}" FROM "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def test_an_unmigrated_sqlite_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.sqlite").write_bytes(b"")
    line = one_line_failure(bridge(tmp_path, ["dead"], "sqlite:///x.sqlite"), "dead")
    assert line == "bridge dead: the database at x.sqlite is not migrated: run `bridge db upgrade`"


def test_an_unknown_revision_is_one_line(tmp_path: Path) -> None:
    line = one_line_failure(
        bridge(tmp_path, ["db", "upgrade", "--revision", "0999"], "sqlite:///x.sqlite"),
        "db upgrade",
    )
    assert "0999" in line
    assert "the newest is" in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [("sixteen", "WEB_THREADS must be a whole number"), ("0", "WEB_THREADS must be 1 or more")],
)
def test_a_thread_count_that_cannot_be_used_is_named_before_gunicorn_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    # gunicorn's config reads it; a bad one used to stop gunicorn with "invalid literal for
    # int()", a message that named no variable.
    monkeypatch.setenv("WEB_THREADS", value)
    sqlite = f"sqlite:///{tmp_path / 'bridge.sqlite'}"
    assert expected in one_line_failure(bridge(tmp_path, ["serve", "--port", "0"], sqlite), "serve")
