"""The ``bridge`` command.  Each sub-command lives in ``bridge/commands/<name>.py``.

A command's failure is one line on stderr (``bridge <command>: <what and what to
do>``) and exit status 1, never a traceback: database problems are explained by
``store.diagnose``, bad environment variables by ``settings``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from sqlalchemy.exc import SQLAlchemyError

import bridge.commands
from bridge.settings import DEFAULT_DATABASE_URL, SettingsError
from bridge.store.diagnose import DatabaseProblem, explain


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command module's parser registered.

    When ``command`` names one, only its module is imported: the others' imports
    (Alembic for ``db``, Flask for ``sandbox``, the backtest and preview machinery)
    would otherwise stay in the memory of the long-running ``bridge worker``.
    """
    parser = argparse.ArgumentParser(
        prog="bridge", description="Turns webhooks into follow-up tasks in iVvy."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Helpers shared by commands start with "_"; each other module is the command it names.
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(bridge.commands.__path__)
        if not info.name.startswith("_")
    )
    for name in [command] if command in names else names:
        module = importlib.import_module(f"bridge.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the arguments and run the chosen command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    command = " ".join(filter(None, (args.command, getattr(args, "db_command", None))))
    try:
        status = args.func(args)
    except (DatabaseProblem, SQLAlchemyError) as exc:
        url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        unset = "" if os.environ.get("DATABASE_URL") else " (DATABASE_URL is not set)"
        print(f"bridge {command}: {explain(exc, url)}{unset}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"bridge {command}: {exc}", file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
