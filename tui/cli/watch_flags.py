"""The flags of ``batchtop watch`` that the parser needs: its epilog, its default and its
duration types. Kept apart from the command, so building the parser imports no client."""

from __future__ import annotations

import argparse

from tui.text.humanize import parse_duration as parse_text_duration

WATCH_EPILOG = """\
exit codes:
  0    every watched batch completed (or --all-live found none live)
  1    the gateway rejected the key (401/403), or stayed unreachable for longer
       than --give-up-after (shorter outages are ridden out)
  2    usage: bad flags or durations, no ids and no --all-live, an id on no provider
  3    a watched batch failed, expired or was cancelled (with --fail-on-errors, also
       one that completed with failures above the profile's threshold or nothing succeeded)
  4    --timeout was reached before every watched batch had finished
  130  interrupted (Ctrl-C)

durations: 90s, 10m, 6h, 1d, or plain seconds.
--json writes one object per line: {"event": "status", ...} when a batch's status
changes, the events (finished, failed, expired, cancelled, stalled, stuck, failing,
at_risk), and last {"event": "done", "exit": N, "summary": {...}}.
"""

DEFAULT_GIVE_UP = 300.0

# -- durations ------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Seconds from ``90s``, ``10m``, ``6h``, ``1d`` or plain seconds (``45``, ``2.5``)."""
    try:
        return parse_text_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (try 90s, 10m, 6h or plain seconds, 0 or more)"
        ) from None


def positive_duration(text: str) -> float:
    value = parse_duration(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0, got {text!r}")
    return value


__all__ = ["DEFAULT_GIVE_UP", "WATCH_EPILOG", "parse_duration", "positive_duration"]
