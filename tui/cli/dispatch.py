"""From parsed arguments to the command that runs, and its exit code.

The commands that talk to a gateway get a ``Session`` opened here, once, with the
warnings about it said once; a ``ConfigError`` from anywhere is one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from tui.cli.audit import run_audit
from tui.cli.cancel import run_cancel
from tui.cli.exit import ExitCode
from tui.cli.listing import run_list, run_show
from tui.cli.output import err
from tui.cli.profiles import run_profiles
from tui.cli.simulator import run_sim
from tui.cli.watch import run_watch
from tui.config import ConfigError
from tui.session import Session, SessionRequest, open_session

WITHOUT_SESSION: dict[str, Callable[[argparse.Namespace], int]] = {
    "sim": run_sim,
    "profiles": run_profiles,
    "audit": run_audit,
}
WITH_SESSION: dict[str, Callable[[argparse.Namespace, Session], int]] = {
    "list": run_list,
    "show": run_show,
    "cancel": run_cancel,
    "watch": run_watch,
}


def run(args: argparse.Namespace) -> int:
    try:
        if args.command is None:
            return run_board(args)
        if args.command == "replay":
            return run_replay_command(args)
        if args.command == "share":
            from tui.cli.share import run_share  # aiohttp only for share

            return run_share(args)
        if args.command in WITHOUT_SESSION:
            return WITHOUT_SESSION[args.command](args)
        return _run_with_session(WITH_SESSION[args.command], args)
    except ConfigError as exc:
        err(exc.message)
        return ExitCode.USAGE


def run_board(args: argparse.Namespace) -> int:
    from tui.cli.parser import LOW_BANDWIDTH_FPS  # the parser imports this module

    fps = getattr(args, "max_fps", None) or (LOW_BANDWIDTH_FPS if getattr(args, "low_bandwidth", False) else None)
    if fps:
        # Textual reads its frame cap once, when it is imported (textual.constants.MAX_FPS).
        os.environ["TEXTUAL_FPS"] = str(fps)
    from tui.ui.app import run_app  # Textual is imported here and only here

    return run_app(args)


def run_replay_command(args: argparse.Namespace) -> int:
    from tui.record import RecordingError
    from tui.ui.replay_app import run_replay  # Textual is imported here, for the replay board

    try:
        return run_replay(args.file, follow=args.follow, speed=args.speed, at=args.at)
    except RecordingError as exc:
        err(exc.message)
        return ExitCode.USAGE


def _run_with_session(command: Callable[[argparse.Namespace, Session], int], args: argparse.Namespace) -> int:
    session = open_session(SessionRequest.from_args(args))
    for warning in session.profile.provider_warnings():
        err(f"warning: {warning}")
    if session.tls_unverified:
        err(
            f"warning: TLS verification is off for profile '{session.profile_name}' "
            "(verify_tls = false): the gateway's identity is not checked"
        )
    try:
        return command(args, session)
    finally:
        session.close()
