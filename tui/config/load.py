"""Read and validate the config file.

Every way a file can be broken ends in one ConfigError naming the file and, when it can
be found cheaply, the line: a person on a jump host at 3 a.m. needs "line 12, profile
'prod', field 'interval'", not a pydantic dump or a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from tui.config.errors import ConfigError
from tui.config.model import (
    PROFILE_NAME_RULE,
    ConfigFile,
    Profile,
    did_you_mean,
    is_valid_profile_name,
    shown,
)
from tui.config.paths import config_path
from tui.config.problems import first_problem
from tui.text.safe import safe_text

TOP_LEVEL_KEYS = ("default_profile", "profiles", "views")
VIEW_KEYS = ("profiles",)

# tomllib puts the position at the end of its message; Python 3.11 has no attributes for it.
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_AT_END = " (at end of document)"
_TABLE_HEADER = re.compile(r"^\s*\[")


def load_config(path: Path | None = None) -> ConfigFile:
    """Load ``path`` (default: ``config_path()``); a missing file is an empty config."""
    path = config_path() if path is None else path
    text = read_config_text(path)
    if text is None:
        return ConfigFile(path=path, profiles={})
    return parse_config(text, path)


def read_config_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist; ConfigError when it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"config error: {path} is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"config error: cannot read {path}: permission denied") from None
    except OSError as error:
        raise ConfigError(f"config error: cannot read {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"config error: {path} line {line}: not UTF-8 text (byte 0x{data[error.start]:02x})"
        ) from None


def parse_config(text: str, path: Path) -> ConfigFile:
    """Validate the TOML ``text`` of the file at ``path`` (named in every error)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_toml_error_message(path, error)) from None
    lines = _LineFinder(text)

    for key, value in data.items():
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(key, TOP_LEVEL_KEYS)
            if isinstance(value, dict) and not hint:
                hint = f"a profile goes in a [profiles.{safe_text(key, limit=40)}] table"
            raise ConfigError(
                f"config error: {_where(path, lines.top_level(key))}: unknown top-level key "
                f"{shown(key)}" + (f" ({hint})" if hint else "")
            )

    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigError(
            f"config error: {_where(path, lines.top_level('profiles'))}: 'profiles' must be "
            "a table of profiles, each written as [profiles.NAME]"
        )
    base_dir = path.absolute().parent
    profiles = {name: _validate_profile(name, fields, path, lines, base_dir) for name, fields in raw_profiles.items()}

    default = data.get("default_profile")
    if default is not None:
        where = _where(path, lines.top_level("default_profile"))
        if not isinstance(default, str):
            raise ConfigError(
                f"config error: {where}: default_profile must be a profile name in quotes (got {shown(default)})"
            )
        if default not in profiles:
            listing = ConfigFile(path, profiles).describe_profiles()
            raise ConfigError(
                f"config error: {where}: default_profile {shown(default)} names no profile in this file ({listing})"
            )
    views = _validate_views(data.get("views", {}), path, lines, profiles)
    return ConfigFile(path=path, profiles=profiles, default_profile=default, views=views)


def _validate_views(
    raw: object, path: Path, lines: _LineFinder, profiles: dict[str, Profile]
) -> dict[str, tuple[str, ...]]:
    """``[views.NAME] profiles = ["prod", "staging"]``: several profiles on one board."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"config error: {_where(path, lines.top_level('views'))}: 'views' must be a table of views, "
            "each written as [views.NAME]"
        )
    views: dict[str, tuple[str, ...]] = {}
    for name, fields in raw.items():
        header = lines.table_header("views", name)
        where = _where(path, header)
        if not is_valid_profile_name(name):
            raise ConfigError(f"config error: {where}: view name {shown(name)} {PROFILE_NAME_RULE}")
        if not isinstance(fields, dict):
            raise ConfigError(f"config error: {where}: view '{name}' must be a table, written as [views.{name}]")
        for key in fields:
            if key not in VIEW_KEYS:
                hint = did_you_mean(key, VIEW_KEYS)
                raise ConfigError(
                    f"config error: {_where(path, lines.table_field('views', name, key) or header)}, view '{name}': "
                    f"unknown field {shown(key)}" + (f" ({hint})" if hint else " (a view has only 'profiles')")
                )
        names = fields.get("profiles")
        where = _where(path, lines.table_field("views", name, "profiles") or header)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"config error: {where}, view '{name}': 'profiles' must be a list of profile names, "
                'such as profiles = ["prod", "staging"]'
            )
        for profile in names:
            if profile not in profiles:
                listing = ConfigFile(path, profiles).describe_profiles()
                hint = did_you_mean(profile, profiles)
                raise ConfigError(
                    f"config error: {where}, view '{name}': {shown(profile)} names no profile in this file "
                    f"({listing}{'; ' + hint if hint else ''})"
                )
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise ConfigError(f"config error: {where}, view '{name}': profile {shown(twice)} is named twice")
        views[name] = tuple(names)
    return views


def _validate_profile(name: str, fields: object, path: Path, lines: _LineFinder, base_dir: Path) -> Profile:
    header_line = lines.profile_header(name)
    if not is_valid_profile_name(name):
        raise ConfigError(f"config error: {_where(path, header_line)}: profile name {shown(name)} {PROFILE_NAME_RULE}")
    if not isinstance(fields, dict):
        raise ConfigError(
            f"config error: {_where(path, header_line)}: profile '{name}' must be a table, written as [profiles.{name}]"
        )
    try:
        return Profile.model_validate(fields, context={"base_dir": base_dir})
    except ValidationError as error:
        problem = first_problem(error)
        line = header_line
        if problem.kind != "missing":
            line = lines.profile_field(name, problem.key) or header_line
        raise ConfigError(f"config error: {_where(path, line)}, profile '{name}'{problem.after_profile()}") from None


def _where(path: Path, line: int | None) -> str:
    return f"{path} line {line}" if line else str(path)


def _toml_error_message(path: Path, error: tomllib.TOMLDecodeError) -> str:
    reason = str(error)
    match = _TOML_POSITION.match(reason)
    if match:
        return f"config error: {path} line {match['line']}, column {match['column']}: {match['reason']}"
    if reason.endswith(_AT_END):
        return f"config error: {path} at the end of the file: {reason.removesuffix(_AT_END)}"
    return f"config error: {path}: {reason}"


class _LineFinder:
    """Best-effort line numbers for messages, by scanning the text.

    Only the usual layout is recognised (``[profiles.NAME]`` headers, ``key = value``
    lines); anything else just yields no line number, which the messages tolerate.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def top_level(self, key: str) -> int | None:
        """Line of ``key = ...`` before the first table, or of a ``[key]``/``[key.x]`` header."""
        assignment = _key_pattern(key)
        header = re.compile(rf"^\s*\[\s*{_quoted(key)}\s*[\].]")
        before_tables = True
        for number, line in enumerate(self._lines, start=1):
            if _TABLE_HEADER.match(line):
                before_tables = False
                if header.match(line):
                    return number
            elif before_tables and assignment.match(line):
                return number
        return None

    def profile_header(self, name: str) -> int | None:
        """Line of the ``[profiles.NAME]`` header."""
        return self.table_header("profiles", name)

    def profile_field(self, name: str, key: str) -> int | None:
        """Line of ``key = ...`` inside the ``[profiles.NAME]`` table."""
        return self.table_field("profiles", name, key)

    def table_header(self, table: str, name: str) -> int | None:
        """Line of the ``[TABLE.NAME]`` header."""
        header = re.compile(rf"^\s*\[\s*{_quoted(table)}\s*\.\s*{_quoted(name)}\s*\]")
        for number, line in enumerate(self._lines, start=1):
            if header.match(line):
                return number
        return None

    def table_field(self, table: str, name: str, key: str) -> int | None:
        """Line of ``key = ...`` inside the ``[TABLE.NAME]`` table."""
        start = self.table_header(table, name)
        if start is None:
            return None
        assignment = _key_pattern(key)
        for number, line in enumerate(self._lines[start:], start=start + 1):
            if _TABLE_HEADER.match(line):
                return None
            if assignment.match(line):
                return number
        return None


def _quoted(key: str) -> str:
    """Regex for a TOML key written bare, in double quotes or in single quotes."""
    escaped = re.escape(key)
    return rf"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{_quoted(key)}\s*=")
