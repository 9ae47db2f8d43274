"""The ``bridge`` command.  Each sub-command lives in ``bridge/commands/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import bridge.commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command module's parser registered."""
    parser = argparse.ArgumentParser(
        prog="bridge", description="Turns webhooks into follow-up tasks in iVvy."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(bridge.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bridge.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the arguments and run the chosen command; returns the exit status."""
    args = build_parser().parse_args(argv)
    status = args.func(args)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
