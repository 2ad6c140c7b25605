"""Find the gateway key a profile points at, and show it without revealing it.

The key must never reach the screen, a log or an error message. So failures here name
the variable, the command (argv[0] only: later arguments may be secret) or the file, but
never a command's output, which may be the key itself.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tui.config.errors import ConfigError
from tui.config.model import Profile, shown

API_KEY_CMD_TIMEOUT = 10.0
"""Seconds an api_key_cmd may take (a password manager may wait for a passphrase)."""

VIRTUAL_KEY_PREFIX = "sk-bf-"
_MIN_SECRET_LENGTH_TO_HINT = 12
"""Below this many secret characters, even the last four would give too much away."""


def resolve_api_key(profile: Profile, *, profile_name: str, config_path: Path) -> str | None:
    """The key for ``profile``: from api_key_env, else api_key_cmd, else the inline api_key.

    Returns None when the profile names no key. A source that is set but fails raises
    ConfigError rather than falling through to the next one.
    """
    if profile.api_key_env is not None:
        return _key_from_env(profile.api_key_env, profile_name)
    if profile.api_key_cmd is not None:
        return _key_from_command(profile.api_key_cmd, profile_name)
    if profile.api_key is not None:
        _check_owner_only(config_path, profile_name)
        return profile.api_key.get_secret_value()
    return None


def mask_key(key: str | None) -> str:
    """A recognisable stand-in for ``key``: "sk-bf-…1a2b", "…1a2b", "…" or "(none)"."""
    if key is None:
        return "(none)"
    prefix = VIRTUAL_KEY_PREFIX if key.startswith(VIRTUAL_KEY_PREFIX) else ""
    secret = key[len(prefix) :]
    tail = secret[-4:] if len(secret) >= _MIN_SECRET_LENGTH_TO_HINT else ""
    return f"{prefix}…{tail}"


def _key_from_env(variable: str, profile_name: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"config error: environment variable {variable} (api_key_env of profile '{profile_name}') is not set"
        )
    return value


def _key_from_command(argv: list[str], profile_name: str) -> str:
    command = shown(argv[0])
    failure = f"config error: api_key_cmd of profile '{profile_name}' failed: {command}"
    try:
        completed = subprocess.run(
            argv,
            shell=False,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=API_KEY_CMD_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{failure} was not found") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{failure} did not finish within {API_KEY_CMD_TIMEOUT:g} s") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{failure} printed something that is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"{failure} could not be run ({error.strerror or 'OS error'})") from None
    if completed.returncode != 0:
        raise ConfigError(f"{failure} exited with status {completed.returncode}")
    lines = completed.stdout.splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise ConfigError(f"{failure} printed nothing on its first line")
    return key


def _check_owner_only(config_path: Path, profile_name: str) -> None:
    """Refuse an inline key in a file that others can read: the key is as public as the file."""
    try:
        mode = config_path.stat().st_mode & 0o777
    except OSError as error:
        raise ConfigError(
            f"config error: {config_path}: cannot check who may read it "
            f"({error.strerror or 'OS error'}); profile '{profile_name}' keeps its api_key there"
        ) from None
    if mode & 0o077:
        raise ConfigError(
            f"config error: {config_path}: profile '{profile_name}' has an inline api_key but "
            f"the file is readable by others (mode {mode:04o}); run chmod 600 {config_path} "
            "or use api_key_env"
        )
