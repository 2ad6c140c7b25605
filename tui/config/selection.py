"""Choose the profile to use, and apply the command line's overrides to it.

Overrides are checked with the profile's own rules, but their errors name the flag
(``--interval must be ...``): the person typed a flag, not a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from tui.config.errors import ConfigError
from tui.config.model import ConfigFile, Profile
from tui.config.problems import first_problem

COMMAND_LINE_PROFILE = "(command line)"
"""Name of the profile built from --base-url and --provider when no file profile applies."""

_FLAGS = {
    "base_url": "--base-url",
    "api": "--api",
    "providers": "--provider",
    "api_key_env": "--api-key-env",
    "interval": "--interval",
}
"""The flag behind each overridable field that can be invalid (the on/off flags cannot)."""


@dataclass
class ProfileOverrides:
    """Values from the command line that override, or stand in for, a profile.

    ``providers`` replaces the profile's list; the two flags can only switch their
    setting on, never off, so a command line cannot make a read-only profile writable.
    """

    base_url: str | None = None
    api: str | None = None
    providers: list[str] | None = None
    api_key_env: str | None = None
    interval: float | None = None
    read_only: bool = False
    allow_insecure_http: bool = False

    def profile_fields(self) -> dict[str, object]:
        """The profile fields these overrides set."""
        fields: dict[str, object] = {
            field: value
            for field in ("base_url", "api", "providers", "api_key_env", "interval")
            if (value := getattr(self, field)) is not None
        }
        if self.read_only:
            fields["read_only"] = True
        if self.allow_insecure_http:
            fields["allow_insecure_http"] = True
        return fields


def select_profile(config: ConfigFile, name: str | None, overrides: ProfileOverrides) -> tuple[str, Profile]:
    """The profile to use and its name, with ``overrides`` applied.

    Without ``name``: the file's default_profile, else its only profile, else a profile
    built from the overrides alone (named COMMAND_LINE_PROFILE) when --base-url is given.
    Raises ConfigError for an unknown name, invalid overrides, or no way to choose.
    """
    if name is None:
        if config.default_profile is not None:
            name = config.default_profile
        elif len(config.profiles) == 1:
            name = next(iter(config.profiles))
        elif overrides.base_url is not None:
            return COMMAND_LINE_PROFILE, _command_line_profile(overrides)
        elif config.profiles:
            raise ConfigError(
                f"config error: no profile chosen: {config.path} has several "
                f"({', '.join(config.profiles)}) and no default_profile; pass --profile NAME "
                "or set default_profile"
            )
        else:
            raise ConfigError(
                "config error: no profile chosen: add one with `batchtop profiles add NAME "
                "--base-url URL --provider openai`, or pass --base-url and --provider"
            )
    profile = config.profile(name)
    fields = overrides.profile_fields()
    if not fields:
        return name, profile
    return name, _validated({**profile.as_fields(), **fields}, name)


def _command_line_profile(overrides: ProfileOverrides) -> Profile:
    if not overrides.providers and overrides.api in (None, "bifrost"):
        raise ConfigError(
            "config error: --base-url needs the providers to watch: pass --provider at least once "
            "(or --api openai / --api anthropic for a gateway that needs none)"
        )
    return _validated(overrides.profile_fields(), COMMAND_LINE_PROFILE)


def _validated(fields: dict[str, object], name: str) -> Profile:
    try:
        return Profile.model_validate(fields)
    except ValidationError as error:
        problem = first_problem(error)
        if problem.key in _FLAGS:
            raise ConfigError(f"config error: {_FLAGS[problem.key]} {problem.detail}") from None
        raise ConfigError(f"config error: profile '{name}'{problem.after_profile()}") from None
