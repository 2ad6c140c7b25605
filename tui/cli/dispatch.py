"""From parsed arguments to the command that runs, and its exit code.

The commands that talk to a gateway get a ``Session`` opened here, once, with the
warnings about it said once; a ``ConfigError`` from anywhere is one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.config import ConfigError

if TYPE_CHECKING:
    from tui.session import Session

# Each command's module is imported only when that command runs (an import statement in
# the function, not at the top): `batchtop list` does not load the watch loop, and the
# board loads none of them (issue 10 d: start-up imports only what the first screen needs).


def _sim(args: argparse.Namespace) -> int:
    from tui.cli.simulator import run_sim

    return run_sim(args)


def _profiles(args: argparse.Namespace) -> int:
    from tui.cli.profiles import run_profiles

    return run_profiles(args)


def _audit(args: argparse.Namespace) -> int:
    from tui.cli.audit import run_audit

    return run_audit(args)


def _list(args: argparse.Namespace, session: Session) -> int:
    from tui.cli.listing import run_list

    return run_list(args, session)


def _show(args: argparse.Namespace, session: Session) -> int:
    from tui.cli.listing import run_show

    return run_show(args, session)


def _cancel(args: argparse.Namespace, session: Session) -> int:
    from tui.cli.cancel import run_cancel

    return run_cancel(args, session)


def _watch(args: argparse.Namespace, session: Session) -> int:
    from tui.cli.watch import run_watch

    return run_watch(args, session)


WITHOUT_SESSION: dict[str, Callable[[argparse.Namespace], int]] = {"sim": _sim, "profiles": _profiles, "audit": _audit}
WITH_SESSION: dict[str, Callable[[argparse.Namespace, Session], int]] = {
    "list": _list,
    "show": _show,
    "cancel": _cancel,
    "watch": _watch,
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
    from tui.session import SessionRequest, open_session

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
