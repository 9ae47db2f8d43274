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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command module's parser registered."""
    parser = argparse.ArgumentParser(
        prog="bridge", description="Turns webhooks into follow-up tasks in iVvy."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(bridge.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # helpers shared by commands, not commands
        module = importlib.import_module(f"bridge.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the arguments and run the chosen command; returns the exit status."""
    args = build_parser().parse_args(argv)
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
