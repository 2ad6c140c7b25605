"""The one exception the config package raises.

A broken config file is a usage problem, not a bug: the person must see one line that
names the file and what to fix, and the CLI must exit with status 2 (the interface
contract's "usage or config error"). Everything in ``tui.config`` turns lower-level
failures (TOML syntax, pydantic validation, OSError, a failing key command) into this.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A config or command-line problem, already phrased for a person.

    ``message`` is the complete text to print (it starts with ``config error:``); it never
    holds a key, a command's output or a traceback. The CLI ends with ``ExitCode.USAGE`` (2)
    on it (tui/cli/exit.py says which code means what).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
