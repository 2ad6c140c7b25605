"""``batchtop share``: the board read-only in browser tabs, until Ctrl-C (``tui.share``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.config import ConfigError
from tui.session import SessionRequest, open_sessions


def run_share(args: argparse.Namespace) -> int:
    from tui.share import ShareError, ShareSettings, check_public_url, share_board

    if args.public_url and (problem := check_public_url(args.public_url)):
        raise ConfigError(problem)
    settings = ShareSettings(
        host=args.host,
        port=args.port,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        max_viewers=args.max_viewers,
        feed=Path(args.feed).expanduser() if args.feed else None,
    )
    sessions = open_sessions(SessionRequest.from_args(args))
    try:
        for session in sessions:
            where = f"{session.profile_name}: " if len(sessions) > 1 else ""
            for warning in session.profile.provider_warnings():
                err(f"warning: {where}{warning}")
        share_board(sessions, settings, say=lambda line: print(line, flush=True))
    except ShareError as exc:
        err(exc.message)
        return ExitCode.USAGE if exc.usage else ExitCode.API
    finally:
        for session in sessions:
            session.close()
    return ExitCode.OK
