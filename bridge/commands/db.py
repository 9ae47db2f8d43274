"""``bridge db upgrade``: apply the schema migrations (the Procfile's release step)."""

from __future__ import annotations

import argparse

from bridge.settings import Settings
from bridge.store.migrate import upgrade


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``db`` sub-command group."""
    parser = sub.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply every pending migration")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Migrate the database named by DATABASE_URL."""
    settings = Settings.from_env()
    upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0
