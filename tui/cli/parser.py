"""The ``batchtop`` command: argument parsing and dispatch.

Headless subcommands never import Textual; the TUI is imported only when it runs, so
``batchtop list`` starts fast on a jump host and works where Textual cannot draw.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tui import __version__
from tui.cli.audit import add_audit_parser
from tui.cli.cancel import add_cancel_parser

def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def _add_connection_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The connection flags, accepted before and after the subcommand.

    On subcommands they default to SUPPRESS so that a flag given before the subcommand is
    not overwritten by the subcommand's default.
    """
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection (override the profile)")
    group.add_argument("--profile", metavar="NAME", default=default, help="profile from the config file")
    group.add_argument("--base-url", metavar="URL", default=default, help="gateway URL, e.g. https://bifrost.example.com")
    group.add_argument("--provider", metavar="NAME", action="append", default=default,
                       help="provider to watch (repeatable); replaces the profile's list")
    group.add_argument("--api-key-env", metavar="VAR", default=default,
                       help="environment variable holding the key")
    group.add_argument("--interval", metavar="SECONDS", type=_positive_float, default=default,
                       help="seconds between polls")
    group.add_argument("--read-only", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="never cancel anything")
    group.add_argument("--allow-insecure-http", action="store_true",
                       default=False if top else argparse.SUPPRESS,
                       help="allow plain http:// to a host other than loopback")
    group.add_argument("--demo", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="start the built-in simulator and use it (writes no config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchtop",
        description="Watch and cancel LLM batch jobs on a Bifrost gateway. "
        "Without a command, opens the live board.",
    )
    parser.add_argument("--version", action="version", version=f"batchtop {__version__}")
    _add_connection_flags(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _add_connection_flags(sub, top=False)
        return sub

    list_cmd = command("list", "list the batches of every provider of the profile, newest first")
    list_cmd.add_argument("--json", action="store_true", help="print a JSON array of batch objects")

    show_cmd = command("show", "show one batch")
    show_cmd.add_argument("batch_id", metavar="ID")
    show_cmd.add_argument("--json", action="store_true", help="print the batch object as JSON")

    cancel_cmd = command("cancel", "cancel batches (asks first unless --yes)")
    add_cancel_parser(cancel_cmd)

    profiles_cmd = command("profiles", "manage connection profiles")
    profile_actions = profiles_cmd.add_subparsers(dest="profiles_action", metavar="ACTION", required=True)
    profile_actions.add_parser("list", help="list the profiles")
    show_profile = profile_actions.add_parser("show", help="show one profile (the key masked)")
    show_profile.add_argument("name", nargs="?", metavar="NAME")
    add_profile = profile_actions.add_parser(
        "add", help="add a profile",
        description="Add a profile. Keys are never taken on the command line (shell history): "
        "name an environment variable (--api-key-env) or a command (--api-key-cmd).",
    )
    add_profile.add_argument("name", metavar="NAME")
    add_profile.add_argument("--base-url", metavar="URL", default=argparse.SUPPRESS, help="gateway URL (required)")
    add_profile.add_argument("--provider", metavar="NAME", action="append", default=argparse.SUPPRESS,
                             help="provider to watch (repeatable, at least one)")
    add_profile.add_argument("--api-key-env", metavar="VAR", default=argparse.SUPPRESS,
                             help="environment variable holding the key")
    add_profile.add_argument("--interval", metavar="SECONDS", type=_positive_float, default=argparse.SUPPRESS,
                             help="seconds between polls")
    add_profile.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                             help="never cancel anything with this profile")
    add_profile.add_argument("--allow-insecure-http", action="store_true", default=argparse.SUPPRESS,
                             help="allow plain http:// to a host other than loopback")
    add_profile.add_argument("--api-key-cmd", metavar="COMMAND",
                             help="command printing the key, run without a shell, e.g. 'pass show bifrost'")
    add_profile.add_argument("--auth-header", choices=["authorization", "x-bf-vk", "x-api-key"])
    add_profile.add_argument("--protected", action="store_true", help="ask for typed confirmation on every cancel")
    add_profile.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to trust for the gateway")
    add_profile.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (not recommended)")
    add_profile.add_argument("--default", action="store_true", help="make it the default profile")
    add_profile.add_argument("--replace", action="store_true", help="replace a profile of the same name")
    remove_profile = profile_actions.add_parser("remove", help="remove a profile")
    remove_profile.add_argument("name", metavar="NAME")

    add_audit_parser(commands)

    sim_cmd = commands.add_parser(
        "sim", help="run the Bifrost-compatible gateway simulator",
        description="Run the built-in Bifrost-compatible gateway simulator in the foreground.",
    )
    sim_cmd.add_argument("--host", default="127.0.0.1")
    sim_cmd.add_argument("--port", type=_port, default=8099)
    sim_cmd.add_argument("--seed", type=int, default=7)
    sim_cmd.add_argument("--speed", type=_positive_float, default=1.0,
                         help="simulated seconds per real second")
    sim_cmd.add_argument("--api-key-env", metavar="VAR",
                         help="require the key held by this environment variable")
    sim_cmd.add_argument("--batches", type=int, default=8, metavar="N", help="batches per provider at start")
    sim_cmd.add_argument("--arrivals", type=float, default=600.0, metavar="SECONDS",
                         help="a new batch per provider about every SECONDS of simulated time (0: none)")
    sim_cmd.add_argument("--quiet", action="store_true", help="do not print a line per request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tui.cli import commands

    try:
        code = commands.run(args)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print("batchtop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`batchtop list | head`): not an error worth a traceback.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
