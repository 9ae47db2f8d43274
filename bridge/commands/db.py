"""``bridge db upgrade``: apply the schema migrations (the Procfile's release step)."""

from __future__ import annotations

import argparse
import sys

from alembic.util import CommandError

from bridge.settings import Settings
from bridge.store.diagnose import parse_database_url, where
from bridge.store.migrate import head_revision, upgrade


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``db`` sub-command group."""
    parser = sub.add_parser(
        "db", help="database schema", description="Manage the schema of $DATABASE_URL."
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser(
        "upgrade",
        help="apply every pending migration",
        description="Apply the pending migrations to $DATABASE_URL (the Procfile's release step).",
    )
    up.add_argument(
        "--revision",
        default="head",
        metavar="REV",
        help="the revision to reach, such as 0002 (default head: the newest)",
    )
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Migrate the database named by DATABASE_URL (a SQLite file is created if missing)."""
    settings = Settings.from_env()
    parse_database_url(settings.database_url)  # one line, not a traceback, for a bad URL
    try:
        upgrade(settings.database_url, args.revision)
    except CommandError as exc:
        print(f"bridge db upgrade: {exc} (the newest is {head_revision()})", file=sys.stderr)
        return 1
    print(f"database at {where(settings.database_url)} is at {args.revision}")
    return 0
