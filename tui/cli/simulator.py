"""``batchtop sim``: the Bifrost-compatible simulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import os
from typing import TYPE_CHECKING

from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.config import ConfigError

if TYPE_CHECKING:
    from tui.sim.recorded import RecordedAnswer


def run_sim(args: argparse.Namespace) -> int:
    if getattr(args, "replay", None):
        return run_recorded(args)
    # Imported here: the other commands have no use for an HTTP server.
    from tui.sim import serve, served_providers

    providers = served_providers(getattr(args, "provider", None))  # --provider picks what to serve
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(f"environment variable {args.api_key_env} (--api-key-env) is not set")
    if args.batches < 0:
        raise ConfigError("--batches must be 0 or more")
    if args.history < 0:
        raise ConfigError("--history must be 0 or more")
    if args.arrivals < 0 or args.arrivals != args.arrivals:
        raise ConfigError("--arrivals must be 0 (none) or more seconds")
    try:
        return serve(
            args.host,
            args.port,
            seed=args.seed,
            speed=args.speed,
            api_key=api_key,
            verbose=not args.quiet,
            batches_per_provider=args.batches,
            arrivals=args.arrivals or None,
            history=args.history,
            providers=providers,
        )
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        err(f"sim: cannot listen on {args.host}:{args.port}: {reason}")
        return ExitCode.USAGE


def recorded_answers(path: str, profile: str | None = None) -> tuple[str, list[RecordedAnswer]]:
    """The answers of one profile of the recording at ``path`` (the first profile unless
    named), as the recorded gateway takes them. Raises ConfigError (exit 2)."""
    from pathlib import Path

    from tui.record import Header, Poll, PollFailed, RecordingError, read_recording
    from tui.sim.recorded import RecordedAnswer

    try:
        records = list(read_recording(Path(path).expanduser(), include_rotated=True))
    except RecordingError as exc:
        raise ConfigError(exc.message) from None
    names = [str(p.get("name", "")) for r in records if isinstance(r, Header) for p in r.profiles]
    names = list(dict.fromkeys(names))
    if not names:
        raise ConfigError(f"{path}: not a batchtop recording (no header)")
    chosen = profile or names[0]
    if chosen not in names:
        raise ConfigError(f"{path}: no profile {chosen!r} in this recording (profiles: {', '.join(names)})")
    answers: list[RecordedAnswer] = []
    for record in records:
        if isinstance(record, Poll) and record.profile == chosen:
            answers.append(RecordedAnswer(record.at, record.provider, record.batches, record.gone))
        elif isinstance(record, PollFailed) and record.profile == chosen:
            answers.append(RecordedAnswer(record.at, record.provider, error=record.error))
    return chosen, answers


def run_recorded(args: argparse.Namespace) -> int:
    from tui.sim.recorded import RecordedGateway

    chosen, typed = recorded_answers(args.replay, getattr(args, "replay_profile", None))
    try:
        gateway = RecordedGateway(typed, host=args.host, port=args.port, speed=args.speed, verbose=not args.quiet)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        err(f"sim: cannot listen on {args.host}:{args.port}: {reason}")
        return ExitCode.USAGE
    world = gateway.world
    print(
        f"batchtop sim: replaying profile {chosen} of {args.replay} on {gateway.base_url} "
        f"({len(typed)} answers over {(world.end - world.start) / 60:.1f} min, speed {args.speed:g}x; "
        f"providers {', '.join(world.providers)}; cancel is refused)",
        flush=True,
    )
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
    return ExitCode.OK
