"""Change the config file: add or replace a profile, remove one, set the default.

Edits go through tomlkit so that comments and the layout of untouched parts survive;
the result is checked with the loader's own rules before anything is written, and the
write is atomic (``atomic.py``). A file that is already broken is reported, not edited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import tomlkit
from pydantic import ValidationError
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

from tui.config.atomic import write_atomically
from tui.config.errors import ConfigError
from tui.config.load import parse_config, read_config_text
from tui.config.model import (
    PROFILE_NAME_RULE,
    ConfigFile,
    Profile,
    is_valid_profile_name,
    shown,
)
from tui.config.problems import first_problem

Edit = Callable[[TOMLDocument, ConfigFile], TOMLDocument]


def save_profile(
    path: Path, name: str, profile_fields: Mapping[str, object], *, make_default: bool = False
) -> ConfigFile:
    """Add profile ``name``, or replace its fields, and return the new config.

    ``profile_fields`` holds the profile's TOML keys; a None value leaves the key out.
    Keys of an existing profile that are not given are removed.
    """
    if not is_valid_profile_name(name):
        raise ConfigError(f"config error: profile name {shown(name)} {PROFILE_NAME_RULE}")
    values = {key: _toml_value(value) for key, value in profile_fields.items() if value is not None}
    _check_fields(path, name, values)
    if "api_key" in values:
        _refuse_inline_key_in_shared_file(path)

    def edit(document: TOMLDocument, current: ConfigFile) -> TOMLDocument:
        profiles = _profiles_table(document)
        if name in current.profiles:
            table = profiles[name]
            for stale in [key for key in table if key not in values]:
                del table[stale]
            for key, value in values.items():
                table[key] = value
        else:
            table = tomlkit.table()
            for key, value in values.items():
                table.add(key, value)
            profiles[name] = table
        return _with_default(document, name) if make_default else document

    return _rewrite(path, edit)


def remove_profile(path: Path, name: str) -> ConfigFile:
    """Remove profile ``name`` (ConfigError if there is none); clears the default if it was."""

    def edit(document: TOMLDocument, current: ConfigFile) -> TOMLDocument:
        current.profile(name)
        del document["profiles"][name]
        if current.default_profile == name:
            del document["default_profile"]
        return document

    return _rewrite(path, edit)


def set_default_profile(path: Path, name: str) -> ConfigFile:
    """Make ``name`` the default profile (ConfigError if there is no such profile)."""

    def edit(document: TOMLDocument, current: ConfigFile) -> TOMLDocument:
        current.profile(name)
        return _with_default(document, name)

    return _rewrite(path, edit)


def _rewrite(path: Path, edit: Edit) -> ConfigFile:
    text = read_config_text(path)
    current = parse_config(text, path) if text is not None else ConfigFile(path, {})
    new_text = tomlkit.dumps(edit(tomlkit.parse(text or ""), current))
    updated = parse_config(new_text, path)
    try:
        write_atomically(path, new_text)
    except OSError as error:
        raise ConfigError(f"config error: cannot write {path}: {error.strerror or error}") from None
    return updated


def _check_fields(path: Path, name: str, values: dict[str, object]) -> None:
    """Validate the new profile alone, so an error cannot cite a line of unwritten text."""
    try:
        Profile.model_validate(values, context={"base_dir": path.absolute().parent})
    except ValidationError as error:
        raise ConfigError(
            f"config error: {path}, profile '{name}'{first_problem(error).after_profile()} (nothing was written)"
        ) from None


def _refuse_inline_key_in_shared_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return  # created with mode 0600
    except OSError as error:
        raise ConfigError(f"config error: cannot check who may read {path}: {error.strerror}") from None
    if mode & 0o077:
        raise ConfigError(
            f"config error: refusing to write an inline api_key to {path}: the file is readable "
            f"by others (mode {mode:04o}); run chmod 600 {path} or use api_key_env"
        )


def _profiles_table(document: TOMLDocument) -> Table:
    if "profiles" not in document:
        # A super table renders as [profiles.NAME] headers, without a bare [profiles].
        document.add("profiles", tomlkit.table(is_super_table=True))
    return document["profiles"]


def _with_default(document: TOMLDocument, name: str) -> TOMLDocument:
    if "default_profile" in document:
        document["default_profile"] = name
        return document
    # Put a new default_profile first: tomlkit would slip it between the first table and
    # the comment written above that table.
    return tomlkit.parse(tomlkit.dumps({"default_profile": name}) + "\n" + document.as_string())


def _toml_value(value: object) -> object:
    return str(value) if isinstance(value, Path) else value
