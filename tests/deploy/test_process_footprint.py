"""What the long-running processes hold: no Alembic in the web, no Flask, Alembic,
cryptography or werkzeug in the worker, no PostgreSQL dialect on SQLite, and building the app
opens no database engine.

The first two are memory a web or worker process would hold for nothing (the deployment's
PSS, BENCHMARKS.md "Memory"); the third keeps preloading possible: an engine made in the
master would be one pool shared by every worker forked from it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bridge import create_app
from bridge.cli import build_parser
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.migrate import alembic_config, head_revision, upgrade
from tests.support.configs import TOKEN, write_config

ROOT = Path(__file__).resolve().parents[2]


def _loaded(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    alembics = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head_revision() == alembics
    assert alembics is not None


def test_the_web_app_does_not_load_alembic() -> None:
    code = "import bridge.web.health, bridge.web.api, bridge.web.hooks, bridge.web.ui"
    assert _loaded(code, ["alembic", "flask"]) == ["flask"]  # the probe sees what it must


def test_bridge_worker_loads_neither_flask_nor_alembic() -> None:
    # What ``python -m bridge.cli worker`` imports before its loop starts.
    code = "import bridge.cli, bridge.worker; bridge.cli.build_parser('worker')"
    assert _loaded(code, ["flask", "alembic", "sqlalchemy"]) == ["sqlalchemy"]


def test_bridge_worker_loads_neither_cryptography_nor_werkzeug() -> None:
    # Every source type is imported (the worker rebuilds each stored event's ``raw`` with its
    # source's decoding), but signatures are checked and multipart parsed only at the door.
    code = (
        "import bridge.cli, bridge.worker, bridge.delivery.runner, bridge.sources.stored; "
        "bridge.cli.build_parser('worker')"
    )
    probe = ["cryptography", "werkzeug", "requests", "bridge.sources.sns"]
    assert _loaded(code, probe) == ["requests", "bridge.sources.sns"]


def test_a_sqlite_deployment_never_loads_the_postgresql_dialect() -> None:
    # 4.5 MiB of a SQLite deployment's PSS (BENCHMARKS.md, Memory): no module the web or the
    # worker imports may name a PostgreSQL-only keyword, and the ON CONFLICT inserts are
    # built by the dialect in use only.
    code = (
        "import bridge.cli, bridge.worker, bridge.delivery.runner, bridge.sources.stored\n"
        "import bridge.web.health, bridge.web.api, bridge.web.hooks, bridge.web.ui\n"
        "from bridge.store import deliveries, tables\n"
        "from bridge.store.db import insert_or_nothing\n"
        "deliveries._insert('sqlite'); insert_or_nothing(tables.task_actions, 'sqlite')\n"
        "insert_or_nothing(tables.task_keys, 'sqlite')\n"
        "bridge.cli.build_parser('worker'); bridge.cli.build_parser('serve')"
    )
    probe = ["sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite"]
    assert _loaded(code, probe) == ["sqlalchemy.dialects.sqlite"]


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_a_named_command_gets_its_own_parser_and_anything_else_every_one() -> None:
    assert _commands(build_parser("worker")) == {"worker"}
    every = _commands(build_parser(None))
    assert {"worker", "serve", "db", "sandbox", "prune"} <= every
    assert _commands(build_parser("--help")) == every
    assert _commands(build_parser("no-such-command")) == every


def test_building_the_app_opens_no_database_engine(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the app preloaded in gunicorn's master, an engine (and its pooled connections)
    # made there would be shared by every worker forked from it.
    monkeypatch.setenv("IVVY_API_KEY", "sandbox-key-for-footprint")
    monkeypatch.setenv("IVVY_API_SECRET", "sandbox-secret-for-footprint")
    monkeypatch.setenv("WEBSITE_TOKEN", TOKEN)
    config = write_config(tmp_path, ivvy_url="http://127.0.0.1:9")
    runtime = Runtime.from_env(Settings(database_url=sqlite_url, config_path=str(config)))
    app = create_app(runtime=runtime)
    upgrade(sqlite_url)
    assert runtime.database._engine is None
    assert app.test_client().get("/readyz").status_code == 200
    assert runtime.database._engine is not None  # the first request made it, in this process


def test_a_postgresql_holder_imports_its_driver_before_any_connection() -> None:
    # Made in gunicorn's preloading master, so that its workers share psycopg's modules
    # instead of each importing them after the fork; and still no engine there.
    code = (
        "from bridge.store.db import EngineHolder\n"
        "holder = EngineHolder('postgresql://bridge@127.0.0.1:9/none')\n"
        "assert holder._engine is None"
    )
    assert _loaded(code, ["psycopg", "sqlalchemy.dialects.postgresql.psycopg"]) == [
        "psycopg",
        "sqlalchemy.dialects.postgresql.psycopg",
    ]
    sqlite = "from bridge.store.db import EngineHolder\nEngineHolder('sqlite:///x.db')"
    assert _loaded(sqlite, ["psycopg"]) == []
