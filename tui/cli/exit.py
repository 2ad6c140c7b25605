"""How ``batchtop`` ends: one exit code per kind of outcome, the same for every command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    API = 1
    """The gateway or the network failed (its message is shown), a confirmation was declined,
    or a batch named on the command line was not cancelled."""
    USAGE = 2
    """Bad flags, a bad config or profile, a read-only refusal: nothing was attempted."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT, as shells report it)."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (128 + SIGPIPE), as in ``batchtop list | head``."""
