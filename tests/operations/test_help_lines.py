"""Every option and argument of every `bridge` command has a help line; so does every command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from bridge.cli import build_parser


def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    """(command path, action) for every action of the parser and of its sub-commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                assert helped.get(name), f"`{path} {name}` has no help line in `{path} --help`"
                assert sub.description, f"`{path} {name} --help` has no description"
                yield from walk(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_of_every_command_has_a_help_line() -> None:
    seen = list(walk(build_parser(), "bridge"))
    commands = {path for path, _ in seen}
    # The walk reached every command, including the nested `db upgrade`.
    assert {"bridge sandbox", "bridge db upgrade", "bridge dead", "bridge serve"} <= commands
    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in seen
        if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS
    ]
    assert not missing, f"no help line: {missing}"
    options = [action for _, action in seen if action.option_strings]
    assert len(options) > 30  # the walk saw the options, not only the commands


def test_help_is_printed_for_each_command(capsys: object) -> None:
    parser = build_parser()
    for path, action in walk(parser, "bridge"):
        if isinstance(action, argparse._HelpAction):
            words = path.split()[1:]
            try:
                parser.parse_args([*words, "--help"])
            except SystemExit as exit_:
                assert exit_.code == 0
