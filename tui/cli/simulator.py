"""``batchtop sim``: the Bifrost-compatible simulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import os

from tui.cli.exit import ExitCode
from tui.cli.output import err
from tui.config import ConfigError


def run_sim(args: argparse.Namespace) -> int:
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
