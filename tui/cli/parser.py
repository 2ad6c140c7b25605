"""The ``batchtop`` command line: every command and flag, in the order ``--help`` shows them.

``main`` parses, hands the arguments to ``tui.cli.dispatch`` and turns Ctrl-C and a closed
pipe into exit codes. Nothing here imports Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tui import __version__
from tui.api.dialects import Api
from tui.cli.dispatch import run
from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.cli.startup import skip_unused_imports
from tui.cli.watch_flags import DEFAULT_GIVE_UP, WATCH_EPILOG, parse_duration, positive_duration

Commands = argparse._SubParsersAction  # the type add_subparsers() returns (argparse keeps it private)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``batchtop`` command. With ``argv`` None it is the process's entry point (the
    console script, ``python -m tui``), and first skips imports batchtop never uses."""
    if argv is None:
        skip_unused_imports()
    args = build_parser().parse_args(argv)
    try:
        code = run(args)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        err("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`batchtop list | head`): not an error worth a traceback.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE


API_CHOICES = [api.value for api in Api]
LOW_BANDWIDTH_FPS = 4
"""Frames per second with --low-bandwidth: a burst of changes becomes one redraw."""


def _whole_number(what: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``what`` from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


_fps = _whole_number("frames per second", 1, 240)
_max_viewers = _whole_number("viewers", 1, 100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchtop",
        description="Watch and cancel LLM batch jobs on a Bifrost gateway. Without a command, opens the live board.",
    )
    parser.add_argument("--version", action="version", version=f"batchtop {__version__}")
    _add_connection_flags(parser, top=True)
    screen = parser.add_argument_group("the live board over a slow link")
    screen.add_argument(
        "--low-bandwidth",
        action="store_true",
        help=f"redraw at most {LOW_BANDWIDTH_FPS} times a second (for SSH over a slow link)",
    )
    screen.add_argument(
        "--max-fps", metavar="N", type=_fps, default=None, help="redraw at most N times a second (default 60)"
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        nargs="?",
        const="",
        default=None,
        help="record every poll and cancel of the board to FILE (gzip NDJSON; default: a new file "
        "in the state folder's recordings/), for `batchtop replay`",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_list(commands)
    _add_show(commands)
    _add_cancel(commands)
    _add_watch(commands)
    _add_profiles(commands)
    _add_audit(commands)
    _add_sim(commands)
    _add_replay(commands)
    _add_share(commands)
    return parser


# -- value types --------------------------------------------------------------------


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


# -- the connection flags (tui.session.SessionRequest) -------------------------------


def _add_connection_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The connection flags, accepted before and after the subcommand.

    On subcommands they default to SUPPRESS so that a flag given before the subcommand is
    not overwritten by the subcommand's default.
    """
    default = None if top else argparse.SUPPRESS
    off = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection (override the profile)")
    group.add_argument(
        "--profile",
        metavar="NAME",
        action="append",
        default=default,
        help="profile from the config file; repeat it to show several profiles on one board",
    )
    if top:
        group.add_argument(
            "--view", metavar="NAME", help="show the profiles of a [views.NAME] of the config file on one board"
        )
    group.add_argument(
        "--base-url", metavar="URL", default=default, help="gateway URL, e.g. https://bifrost.example.com"
    )
    group.add_argument(
        "--api",
        choices=API_CHOICES,
        default=default,
        help="the batch API the gateway speaks (default: the profile's, else bifrost)",
    )
    group.add_argument(
        "--provider",
        metavar="NAME",
        action="append",
        default=default,
        help="provider to watch (repeatable); replaces the profile's list",
    )
    group.add_argument("--api-key-env", metavar="VAR", default=default, help="environment variable holding the key")
    group.add_argument(
        "--interval", metavar="SECONDS", type=_positive_float, default=default, help="seconds between polls"
    )
    group.add_argument("--read-only", action="store_true", default=off, help="never cancel anything")
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=off,
        help="allow plain http:// to a host other than loopback",
    )
    group.add_argument(
        "--demo",
        action="store_true",
        default=off,
        help="start the built-in simulator and use it (writes no config)",
    )


def _connected(commands: Commands, name: str, help_text: str, **options: Any) -> argparse.ArgumentParser:
    """A subcommand that talks to a gateway, so takes the connection flags too."""
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text, **options)
    _add_connection_flags(sub, top=False)
    return sub


# -- one function per command (tui.cli.listing, cancel, profiles, audit, simulator) --


def _add_list(commands: Commands) -> None:
    list_cmd = _connected(commands, "list", "list the batches of every provider of the profile, newest first")
    list_cmd.add_argument("--json", action="store_true", help="print a JSON array of batch objects")


def _add_show(commands: Commands) -> None:
    show_cmd = _connected(commands, "show", "show one batch")
    show_cmd.add_argument("batch_id", metavar="ID")
    show_cmd.add_argument("--json", action="store_true", help="print the batch object as JSON")


def _add_cancel(commands: Commands) -> None:
    cancel_cmd = _connected(commands, "cancel", "cancel batches (asks first unless --yes)")
    cancel_cmd.add_argument("batch_ids", metavar="ID", nargs="*", help="batches to cancel")
    cancel_cmd.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    chosen = cancel_cmd.add_argument_group("select by filter (instead of ids)")
    chosen.add_argument("--all", action="store_true", help="every live batch of the provider that matches")
    chosen.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="only batches in this status (repeatable), e.g. in_progress",
    )
    chosen.add_argument(
        "--metadata",
        action="append",
        metavar="KEY=VALUE",
        help="only batches whose metadata has KEY=VALUE (repeatable: all must match)",
    )
    chosen.add_argument(
        "--created-after", metavar="WHEN", help="only batches created in the last 2h / 30m / 1d, or after a date"
    )
    cancel_cmd.add_argument("--dry-run", action="store_true", help="list what would be cancelled; send nothing")


def _add_watch(commands: Commands) -> None:
    watch_cmd = _connected(
        commands,
        "watch",
        "follow batches until they finish, headless (for scripts and CI); the exit code says how they ended",
        epilog=WATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch_cmd.add_argument(
        "batch_ids",
        metavar="ID",
        nargs="*",
        help="batches to watch (on the provider --provider names, or found on the profile's providers)",
    )
    watch_cmd.add_argument("--all-live", action="store_true", help="watch every batch live at the first poll")
    watch_cmd.add_argument(
        "--timeout",
        metavar="DURATION",
        type=positive_duration,
        default=None,
        help="stop with exit 4 if not all have finished by then (e.g. 6h; default: no limit)",
    )
    watch_cmd.add_argument(
        "--give-up-after",
        metavar="DURATION",
        type=parse_duration,
        default=DEFAULT_GIVE_UP,
        help="exit 1 once the gateway has been unreachable this long (default 5m)",
    )
    watch_cmd.add_argument(
        "--json", action="store_true", help="write NDJSON: one object per status change or event, then a done line"
    )
    watch_cmd.add_argument(
        "--fail-on-errors",
        action="store_true",
        help="exit 3 also for a batch that completed with failures above the profile's threshold",
    )
    watch_cmd.add_argument(
        "--alerts",
        action="store_true",
        help="send the events to the profile's [alerts] too: command, webhook (bell and desktop on a terminal only)",
    )


def _add_profiles(commands: Commands) -> None:
    profiles_cmd = _connected(commands, "profiles", "manage connection profiles")
    actions = profiles_cmd.add_subparsers(dest="profiles_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list the profiles")
    show = actions.add_parser("show", help="show one profile (the key masked)")
    show.add_argument("name", nargs="?", metavar="NAME")
    add = actions.add_parser(
        "add",
        help="add a profile",
        description="Add a profile. Keys are never taken on the command line (shell history): "
        "name an environment variable (--api-key-env) or a command (--api-key-cmd).",
    )
    add.add_argument("name", metavar="NAME")
    # SUPPRESS: these share their dest with the connection flags given before "add".
    add.add_argument("--base-url", metavar="URL", default=argparse.SUPPRESS, help="gateway URL (required)")
    add.add_argument(
        "--api", choices=API_CHOICES, default=argparse.SUPPRESS, help="bifrost (default), openai or anthropic"
    )
    add.add_argument(
        "--provider",
        metavar="NAME",
        action="append",
        default=argparse.SUPPRESS,
        help="provider to watch (repeatable; at least one for the bifrost API)",
    )
    add.add_argument(
        "--api-key-env", metavar="VAR", default=argparse.SUPPRESS, help="environment variable holding the key"
    )
    add.add_argument(
        "--interval", metavar="SECONDS", type=_positive_float, default=argparse.SUPPRESS, help="seconds between polls"
    )
    add.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="never cancel anything with this profile"
    )
    add.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=argparse.SUPPRESS,
        help="allow plain http:// to a host other than loopback",
    )
    add.add_argument(
        "--api-key-cmd",
        metavar="COMMAND",
        help="command printing the key, run without a shell, e.g. 'pass show bifrost'",
    )
    add.add_argument("--auth-header", choices=["authorization", "x-bf-vk", "x-api-key"])
    add.add_argument("--protected", action="store_true", help="ask for typed confirmation on every cancel")
    add.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to trust for the gateway")
    add.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (not recommended)")
    add.add_argument("--default", action="store_true", help="make it the default profile")
    add.add_argument("--replace", action="store_true", help="replace a profile of the same name")
    remove = actions.add_parser("remove", help="remove a profile")
    remove.add_argument("name", metavar="NAME")


def _add_audit(commands: Commands) -> None:
    help_text = "show the cancel attempts recorded in the audit log, oldest first"
    audit_cmd = commands.add_parser("audit", help=help_text, description=help_text)
    audit_cmd.add_argument("--json", action="store_true", help="print a JSON array of the records")
    audit_cmd.add_argument(
        "--since",
        metavar="WHEN",
        help="only records from the last 2h, 30m, 1d... or since a date/time "
        "such as 2026-11-25 or 2026-11-25T10:00 (UTC unless it says otherwise)",
    )


def _add_sim(commands: Commands) -> None:
    sim_cmd = commands.add_parser(
        "sim",
        help="run the Bifrost-compatible gateway simulator",
        description="Run the built-in Bifrost-compatible gateway simulator in the foreground.",
    )
    sim_cmd.add_argument("--host", default="127.0.0.1")
    sim_cmd.add_argument("--port", type=_port, default=8099)
    sim_cmd.add_argument("--seed", type=int, default=7)
    sim_cmd.add_argument("--speed", type=_positive_float, default=1.0, help="simulated seconds per real second")
    sim_cmd.add_argument("--api-key-env", metavar="VAR", help="require the key held by this environment variable")
    sim_cmd.add_argument("--batches", type=int, default=8, metavar="N", help="batches per provider at start")
    sim_cmd.add_argument(
        "--history", type=int, default=0, metavar="N", help="long-finished batches per provider, older than the rest"
    )
    sim_cmd.add_argument(
        "--arrivals",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="a new batch per provider about every SECONDS of simulated time (0: none)",
    )
    sim_cmd.add_argument("--quiet", action="store_true", help="do not print a line per request")
    sim_cmd.add_argument(
        "--replay",
        metavar="FILE",
        help="answer as the gateway of a recording (batchtop --record) did, from its first answer on "
        "(--speed applies; cancel is refused)",
    )
    sim_cmd.add_argument(
        "--replay-profile",
        metavar="NAME",
        help="with --replay: the profile of a recording of several (default: the first)",
    )


def _add_replay(commands: Commands) -> None:
    help_text = "show the board of a recording (batchtop --record), as it was; always read-only"
    replay = commands.add_parser(
        "replay",
        help=help_text,
        description=help_text + ". Keys: p pause, . and , step a poll, ] and [ one minute, } and { ten, "
        "g go to a time, x speed (x1, x10, x60).",
    )
    replay.add_argument("file", metavar="FILE", help="a recording (its rotated parts FILE.1, FILE.2... are read too)")
    replay.add_argument("--follow", action="store_true", help="follow a recording that is still being written")
    replay.add_argument("--speed", type=_positive_float, default=None, help="start at this speed (default 1)")
    replay.add_argument("--at", metavar="TIME", help="start paused at HH:MM[:SS] (local time) or +N minutes")


def _add_share(commands: Commands) -> None:
    help_text = "show the board read-only in browser tabs: one poller, any number of viewers (textual-serve)"
    share = _connected(
        commands,
        "share",
        help_text,
        epilog="The link carries a random token; without it every request is refused. Viewers never "
        "receive the key and cannot cancel. Stop with Ctrl-C; the feed stays as a recording.",
    )
    share.add_argument(
        "--view", metavar="NAME", default=argparse.SUPPRESS, help="share the profiles of a [views.NAME] on one board"
    )
    share.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: loopback only)")
    share.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0 for any free port)")
    share.add_argument(
        "--public-url",
        metavar="URL",
        help="the address viewers use when the port is forwarded or proxied (e.g. https://board.example.com)",
    )
    share.add_argument(
        "--max-viewers", metavar="N", type=_max_viewers, default=8, help="browser tabs at once (default 8)"
    )
    share.add_argument(
        "--feed",
        metavar="FILE",
        help="the live feed's file (a recording; default: a new file in the state folder's recordings/)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
