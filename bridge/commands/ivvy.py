"""``bridge ivvy …``: set iVvy up from the command line, with the config file's credentials.

``ping`` checks the key, secret and clock; ``users`` and ``venues`` list the ids to write in
rules; ``subscribe`` and ``unsubscribe`` manage iVvy's notification subscriptions.  Subscribe
prints the ``topics:`` YAML for the ``ivvy`` source instead of editing the config file: the
file stays what a person wrote, reviewed and versioned (comments and layout kept), and the
topics that are allowed to reach the bridge change only through that review.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bridge.config import Config, ConfigError, load_config
from bridge.ivvy import subscriptions as subs
from bridge.ivvy.client import IvvyClient
from bridge.ivvy.errors import STALE_REQUEST, IvvyError, IvvyTransportError
from bridge.settings import CONFIG_HELP, config_path

PROG = "bridge ivvy"


class CommandFailed(Exception):
    """A one-line reason to print and exit 1."""


def register(subparsers: Any) -> None:
    """Add ``ivvy`` and its sub-commands."""
    parser = subparsers.add_parser(
        "ivvy",
        help="set iVvy up: check credentials, list users and venues, subscribe to notifications",
        description="Calls iVvy with the key and secret of the config file's `ivvy:` section.",
    )
    group = parser.add_subparsers(dest="ivvy_command", metavar="SUBCOMMAND", required=True)

    def add(name: str, help: str, func: Callable[[argparse.Namespace], int]) -> Any:
        sub = group.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--config",
            metavar="FILE",
            help=CONFIG_HELP,
        )
        sub.set_defaults(func=lambda args: _guarded(func, args))
        return sub

    add("ping", "check the iVvy key, secret and clock (test?action=ping)", ping)
    listings = (
        ("users", "account users: ids, names, e-mails (for assignees)", users),
        ("venues", "venues: ids, names, e-mails, timezones (for venue:)", venues),
    )
    for name, what, lister in listings:
        listing = add(name, what, lister)
        listing.add_argument("--json", action="store_true", help="print the list as JSON")
    for name, what, func in (
        ("subscribe", "subscribe a URL of the bridge to iVvy's notifications", subscribe),
        ("unsubscribe", "unsubscribe a URL from iVvy's notifications", unsubscribe),
    ):
        sub = add(name, what, func)
        sub.add_argument(
            "--url",
            required=True,
            help="the bridge's address for the source: https://HOST/hooks/SOURCE",
        )
        sub.add_argument(
            "--endpoints",
            default=None,
            help=f"account feeds, comma-separated, among {', '.join(subs.ENDPOINTS)} "
            f"(default {','.join(subs.DEFAULT_ENDPOINTS)})",
        )
        sub.add_argument(
            "--venue", type=int, metavar="ID", help="one venue's feed instead of account feeds"
        )


def _guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return func(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except CommandFailed as exc:
        print(f"{PROG} {args.ivvy_command}: {exc}", file=sys.stderr)
        return 1
    except IvvyError as exc:
        print(f"{PROG} {args.ivvy_command}: {explain(exc)}", file=sys.stderr)
        return 1


def explain(error: IvvyError) -> str:
    """An iVvy failure in one line, with what to check (never a key, secret or signature)."""
    if isinstance(error, IvvyTransportError):
        return f"could not reach iVvy: {error}"
    status = error.error_code if error.error_code is not None else error.http_status
    if error.specific_code == STALE_REQUEST:
        return f"this machine's clock is more than 5 minutes off iVvy's: {error}"
    if status == 401:
        return f"iVvy refused the credentials (check ivvy.key and ivvy.secret): {error}"
    if status == 403:
        return f"{subs.FORBIDDEN_HINT}: {error}"
    return str(error)


def _config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


def _client(config: Config) -> IvvyClient:
    ivvy = config.ivvy
    return IvvyClient(ivvy.key, ivvy.secret, base_url=ivvy.base_url, timeout=ivvy.timeout)


def ping(args: argparse.Namespace) -> int:
    """One line: the account answered (with its clock), or why not."""
    config = _config(args)
    with _client(config) as client:
        answer = client.ping()
    print(
        f"iVvy at {config.ivvy.base_url} accepted the credentials (server time {answer.get('ack')})"
    )
    return 0


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def users(args: argparse.Namespace) -> int:
    """Every account user: id, name, e-mail, active or not."""
    with _client(_config(args)) as client:
        found = client.get_user_list()
    if args.json:
        keep = ("id", "firstName", "lastName", "email", "currentStatus")
        print(json.dumps([{k: user.get(k) for k in keep} for user in found]))
        return 0
    rows = [["id", "name", "email", "status"]]
    for user in found:
        name = " ".join(_text(user.get(k)) for k in ("firstName", "lastName") if user.get(k))
        # iVvy's currentStatus: 1 Active, 2 Inactive (a number, or a numeric string).
        status = {"1": "active", "2": "inactive"}.get(str(user.get("currentStatus")), "")
        rows.append([_text(user.get("id")), name, _text(user.get("email")), status])
    print(_table(rows))
    return 0


def venues(args: argparse.Namespace) -> int:
    """Every venue: id, name, e-mail and timezone."""
    with _client(_config(args)) as client:
        found = client.get_venue_list()
    if args.json:
        keep = ("id", "businessName", "emailAddress", "timezone")
        print(json.dumps([{k: venue.get(k) for k in keep} for venue in found]))
        return 0
    rows = [["id", "name", "email", "timezone"]]
    for venue in found:
        rows.append(
            [_text(venue.get(k)) for k in ("id", "businessName", "emailAddress", "timezone")]
        )
    print(_table(rows))
    return 0


def _source_name(url: str) -> str:
    """SOURCE from ``https://HOST/hooks/SOURCE``; CommandFailed for anything else."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if parts.scheme != "https" or not parts.hostname:
        raise CommandFailed(f"--url must be an https address (iVvy accepts no other): {url}")
    if len(segments) != 2 or segments[0] != "hooks" or not segments[1]:
        raise CommandFailed(f"--url must end in /hooks/SOURCE: {url}")
    return segments[1]


def _checked_source(config: Config, name: str) -> list[str]:
    """The topics the source already accepts ([] when it is not configured yet)."""
    source = config.sources.get(name)
    if source is None:
        return []
    if source.type_name != "ivvy":
        raise CommandFailed(f"source {name} is of type {source.type_name}, not ivvy")
    return list(source.options.get("topics") or [])


def subscribe(args: argparse.Namespace) -> int:
    """Subscribe, then print the source's YAML with every topic; 1 if a feed was refused."""
    config = _config(args)
    name = _source_name(args.url)
    _one_scope(args)
    known = _checked_source(config, name)
    with _client(config) as client:
        if args.venue is not None:
            results = [subs.subscribe_venue(client, args.url, args.venue)]
        else:
            results = subs.subscribe_account(client, args.url, _endpoints(args))
    for result in results:
        said = result.topic if result.topic else f"NOT subscribed: {result.error}"
        print(f"{result.endpoint}: {said}", file=sys.stderr)
    topics = list(dict.fromkeys([*known, *(r.topic for r in results if r.topic)]))
    new = [topic for topic in topics if topic not in known]
    if topics:
        print(source_yaml(name, topics, new))
    if new:
        print(
            f"\nPut the YAML above in {config.path} (it replaces `sources.{name}`'s topics), "
            "deploy it, then run this command again: SNS sends its confirmation as soon as "
            "iVvy subscribes, and the bridge refuses topics it does not list yet. Subscribing "
            "again asks for a new confirmation, which the bridge then accepts by itself.",
            file=sys.stderr,
        )
    elif topics:
        print(f"\n{config.path} already lists every topic: nothing to change.", file=sys.stderr)
    return 0 if all(result.topic for result in results) else 1


def source_yaml(name: str, topics: list[str], new: list[str]) -> str:
    """The ``sources:`` entry to paste, new topics marked (ARNs need no quoting in YAML)."""
    lines = ["sources:", f"  {name}:", "    type: ivvy", "    topics:"]
    for topic in topics:
        lines.append(f"      - {topic}" + ("   # new" if topic in new else ""))
    return "\n".join(lines)


def unsubscribe(args: argparse.Namespace) -> int:
    """Unsubscribe; one line per feed with its result in words; 1 unless all went through."""
    config = _config(args)
    _source_name(args.url)
    _one_scope(args)
    with _client(config) as client:
        if args.venue is not None:
            results = [subs.unsubscribe_venue(client, args.url, args.venue)]
        else:
            results = subs.unsubscribe_account(client, args.url, _endpoints(args))
    for result in results:
        code = "no result" if result.result is None else f"result {result.result}"
        print(f"{result.endpoint}: {result.meaning} ({code})")
    return 0 if all(result.ok for result in results) else 1


def _one_scope(args: argparse.Namespace) -> None:
    if args.venue is not None and args.endpoints is not None:
        raise CommandFailed("--venue is one venue's feed: leave out --endpoints (account feeds)")


def _endpoints(args: argparse.Namespace) -> tuple[str, ...]:
    if args.endpoints is None:
        return subs.DEFAULT_ENDPOINTS
    try:
        return subs.parse_endpoints(args.endpoints)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
