"""What a connection profile is, and the rules a profile must follow.

Validators raise ``invalid(...)`` with a predicate phrase ("must be ...") so that the
same rule reads well after "profile 'prod', field 'interval':" for a file and after
"--interval" for a command-line flag (see ``problems.py``).
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tui.api.providers import KNOWN_PROVIDERS
from tui.config.errors import ConfigError
from tui.config.rules import invalid, shown
from tui.config.watching import AlertSettings, SignalSettings

PROFILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
"""Profile names are typed on command lines and shown in the TUI: keep them plain."""
PROFILE_NAME_RULE = "may contain only letters, digits, '_', '.' and '-'"

AuthHeader = Literal["authorization", "x-bf-vk", "x-api-key"]
ApiName = Literal["bifrost", "openai", "anthropic"]

# Strict: TOML has real numbers and booleans, so "5" or "yes" is a mistake worth naming.
PositiveSeconds = Annotated[float, Field(gt=0, strict=True, allow_inf_nan=False)]
StrictFlag = Annotated[bool, Field(strict=True)]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "did you mean 'x'?" for the closest of ``choices``, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def unknown_provider_warning(name: str) -> str:
    """What to say of a provider batchtop has not been taught about. Providers are an open
    set (Bifrost keeps adding them; deployments name custom ones), so this is a warning."""
    suggestion = did_you_mean(name, KNOWN_PROVIDERS)
    hint = f" ({suggestion})" if suggestion else ""
    return f"provider {shown(name)} is not one batchtop knows{hint}; its batches are read as OpenAI-shaped"


class Profile(BaseModel):
    """How to reach one Bifrost gateway and what to watch there.

    Several key sources may be set; the first one set wins, in this order:
    ``api_key_env``, then ``api_key_cmd``, then the inline ``api_key``. A source that is
    set but fails (variable unset, command failing) is an error, not a fall-through, so
    that batchtop never silently authenticates with a different key than intended.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: str = Field(description="The gateway's base URL (http or https, with a host); a trailing / is dropped.")
    api: ApiName = Field(
        default="bifrost",
        description=(
            "The batch API the gateway speaks: 'bifrost' (Bifrost's /v1/batches), 'openai' (OpenAI, "
            "a LiteLLM proxy, Bifrost's /openai route) or 'anthropic' (Anthropic's Message Batches)."
        ),
    )
    providers: list[str] = Field(
        description=(
            "Providers to poll. Bifrost's API needs one on every call, so a 'bifrost' profile must "
            "name them; an 'openai' one sends them only when named (else it watches 'openai'); "
            "an 'anthropic' one has none but 'anthropic'. Lowercased, duplicates dropped, order kept."
        )
    )
    _providers_named: bool = PrivateAttr(default=True)

    @model_validator(mode="wrap")
    @classmethod
    def _default_providers(cls, data: Any, handler: Any) -> Profile:
        """An OpenAI or Anthropic profile without providers watches the API's own one."""
        named = True
        if isinstance(data, dict) and data.get("api") in ("openai", "anthropic") and not data.get("providers"):
            data, named = {**data, "providers": [data["api"]]}, False
        profile = handler(data)
        profile._providers_named = named
        return profile

    @property
    def providers_named(self) -> bool:
        """Whether the profile (or --provider) named its providers: an 'openai' profile
        sends ``provider`` on its calls only then."""
        return self._providers_named

    def as_fields(self) -> dict[str, Any]:
        """The profile as the fields it was made from (providers left out when defaulted)."""
        return self.model_dump(exclude=set() if self._providers_named else {"providers"})

    interval: PositiveSeconds = Field(default=5.0, description="Seconds between polls.")
    read_only: StrictFlag = Field(
        default=False, description="Hide every way to cancel: for watching production safely."
    )
    protected: StrictFlag = Field(default=False, description="Ask for a typed confirmation on every cancel.")
    record: StrictFlag = Field(
        default=False,
        description="Record every board session of this profile (as --record does) to the state folder.",
    )
    verify_tls: StrictFlag = Field(default=True, description="Check the gateway's TLS certificate.")
    ca_bundle: Path | None = Field(
        default=None,
        description=(
            "CA bundle for a gateway behind an internal CA; must exist. A relative path is "
            "taken from the config file's directory."
        ),
    )
    allow_insecure_http: StrictFlag = Field(
        default=False,
        description="Allow plain http:// to a non-loopback host: the key then crosses unencrypted.",
    )
    auth_header: AuthHeader = Field(
        default="authorization",
        description="Header carrying the key: 'authorization' sends 'Bearer <key>'.",
    )
    api_key_env: str | None = Field(default=None, description="Environment variable holding the key (first priority).")
    api_key_cmd: list[str] | None = Field(
        default=None,
        description=(
            "Command printing the key on its first line, run without a shell (second "
            "priority). A string is split like a shell would (shlex)."
        ),
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=("The key itself (last priority); accepted only while the file is readable by its owner alone."),
    )
    timeout: PositiveSeconds = Field(default=10.0, description="Connect and read timeout, in seconds.")
    signals: SignalSettings = Field(default_factory=SignalSettings, description="When a batch needs a person.")
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="How alerts reach a person.")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        url = value.strip()
        not_a_url = invalid(f"must be an http:// or https:// URL with a host (got {shown(url)})")
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # e.g. an unclosed "[" around an IPv6 address
            raise not_a_url from None
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise not_a_url
        if any(ch.isspace() or ord(ch) < 32 for ch in url):
            raise not_a_url
        try:
            parts.port  # noqa: B018 — raises on a port that is not a number 0..65535
        except ValueError:
            raise not_a_url from None
        if parts.username is not None or parts.password is not None:
            # Not echoed: the URL holds a password. It would be shown on screen.
            raise invalid("must not contain a user name or password; put the key in api_key_env")
        if parts.query or parts.fragment:
            raise invalid(f"must not have a query or fragment (got {shown(url)})")
        return url.rstrip("/")

    @field_validator("providers")
    @classmethod
    def _check_providers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        names = list(dict.fromkeys(name.strip().lower() for name in value))
        if info.data.get("api") == "anthropic" and names != ["anthropic"]:
            raise invalid(
                'must be left out for api = "anthropic": Anthropic\'s own API has no providers '
                "(its batches are listed as 'anthropic')"
            )
        if not names:
            raise invalid('must name at least one provider, e.g. ["openai"]')
        for name in names:
            if not _PROVIDER_NAME.match(name):
                raise invalid(
                    f"must name providers: {shown(name)} is not a provider name "
                    "(letters, digits, '.', '_' and '-', up to 64)"
                )
        return names

    def provider_warnings(self) -> list[str]:
        """One line per provider batchtop knows nothing about (accepted, read OpenAI-shaped)."""
        return [unknown_provider_warning(name) for name in self.providers if name not in KNOWN_PROVIDERS]

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        base_dir = (info.context or {}).get("base_dir")
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise invalid(f"must name an existing file: {shown(str(path))} does not exist")
        return path

    @field_validator("api_key_env")
    @classmethod
    def _check_api_key_env(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise invalid("must name an environment variable")
        return value

    @field_validator("api_key_cmd", mode="before")
    @classmethod
    def _split_api_key_cmd(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return shlex.split(value)
        except ValueError as error:
            raise invalid(f"must be a command line that splits into words ({error})") from None

    @field_validator("api_key_cmd")
    @classmethod
    def _check_api_key_cmd(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0]):
            raise invalid("must name a command to run")
        return value

    @field_validator("api_key")
    @classmethod
    def _check_api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise invalid("must not be empty")
        return value


def is_valid_profile_name(name: str) -> bool:
    """Whether ``name`` follows PROFILE_NAME_RULE."""
    return PROFILE_NAME_PATTERN.fullmatch(name) is not None


@dataclass(frozen=True)
class ConfigFile:
    """The validated content of one config file (``path`` None: no file, as for the demo)."""

    path: Path | None
    profiles: dict[str, Profile]
    default_profile: str | None = None
    views: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Named sets of profiles shown on one board (``[views.NAME] profiles = [...]``)."""

    def profile(self, name: str) -> Profile:
        """The profile called ``name``; ConfigError naming the file and the choices if none."""
        if name in self.profiles:
            return self.profiles[name]
        listing = self.describe_profiles()
        suggestion = did_you_mean(name, self.profiles)
        if suggestion:
            listing += "; " + suggestion
        raise ConfigError(f"config error: no profile {shown(name)} in {self.path} ({listing})")

    def view(self, name: str) -> tuple[str, ...]:
        """The profiles of view ``name``; ConfigError naming the file and the choices if none."""
        if name in self.views:
            return self.views[name]
        listing = "views: " + ", ".join(self.views) if self.views else "no views defined"
        suggestion = did_you_mean(name, self.views)
        if suggestion:
            listing += "; " + suggestion
        raise ConfigError(f"config error: no view {shown(name)} in {self.path} ({listing})")

    def describe_profiles(self) -> str:
        """ "profiles: a, b" or "no profiles defined", for messages."""
        if not self.profiles:
            return "no profiles defined"
        return "profiles: " + ", ".join(self.profiles)
