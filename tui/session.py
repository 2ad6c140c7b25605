"""From a request (a profile name, flags that override it) to a profile, its key and a client.

Shared by the headless commands and the TUI so that both read the config, pick the
profile and apply the overrides in exactly one way. No Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.api import BifrostClient
from tui.api.dialects import dialect_for
from tui.config import (
    ConfigError,
    Profile,
    ProfileOverrides,
    check_transport,
    config_path,
    load_config,
    resolve_api_key,
    select_profile,
)

if TYPE_CHECKING:
    import argparse

    from tui.sim import SimServer

DEMO_PROFILE = "demo"
DEMO_SPEED = 20.0
"""The demo's simulated clock runs 20x, so batches visibly move between one-second polls."""
DEMO_INTERVAL = 1.0
DEMO_ARRIVALS = 600.0
"""A new batch per provider about every 10 simulated minutes (30 s of the demo)."""


@dataclass
class Session:
    """A profile ready to use: its name, settings, key and where it came from."""

    profile_name: str
    profile: Profile
    api_key: str | None = field(repr=False)
    config_path: Path | None
    demo: SimServer | None = None
    label: str | None = None
    """How to name the gateway on screen, when its host:port says little (the demo)."""

    @property
    def gateway_host(self) -> str:
        if self.label:
            return self.label
        parts = urlsplit(self.profile.base_url)
        return parts.netloc or self.profile.base_url

    @property
    def clock(self) -> Callable[[], float]:
        """The time the batches live in: the wall clock, or the demo simulator's clock, which
        runs 20x — so that ages, rates and ETAs agree with the batches' own timestamps."""
        return self.demo.clock.now if self.demo is not None else time.time

    @property
    def tls_unverified(self) -> bool:
        """https with verify_tls = false: anyone on the path could read the key."""
        return self.profile.base_url.startswith("https://") and not self.profile.verify_tls

    def client(self, origin: str = "") -> BifrostClient:
        """A client for the profile's gateway; ``origin`` (the profile's name on a board of
        several profiles) goes into every batch it reads."""
        profile = self.profile
        verify: bool | str = profile.verify_tls
        if profile.verify_tls and profile.ca_bundle is not None:
            verify = str(profile.ca_bundle)
        return BifrostClient(
            profile.base_url,
            api_key=self.api_key,
            auth_header=profile.auth_header,
            verify=verify,
            timeout=profile.timeout,
            dialect=dialect_for(profile.api, providers_named=profile.providers_named),
            origin=origin,
        )

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None


@dataclass(frozen=True)
class SessionRequest:
    """What to connect to: a profile by name (or the default), and what overrides it.

    The on/off settings can only be switched on, never off, so a request cannot make a
    read-only profile writable (see ``ProfileOverrides``).
    """

    profile: str | None = None
    """The profile's name; None for the default one (or the command line's own profile)."""
    base_url: str | None = None
    api: str | None = None
    """The batch API the gateway speaks (replaces the profile's ``api``)."""
    providers: tuple[str, ...] | None = None
    """Replaces the profile's list of providers."""
    api_key_env: str | None = None
    interval: float | None = None
    read_only: bool = False
    allow_insecure_http: bool = False
    demo: bool = False
    """Start the built-in simulator and use it; no config is read or written."""
    more_profiles: tuple[str, ...] = ()
    """Profiles shown on the same board after ``profile`` (``--profile`` given again)."""
    view: str | None = None
    """A ``[views.NAME]`` of the config file: its profiles, on one board."""

    @property
    def several(self) -> bool:
        """Whether the request is for several profiles on one board (only the TUI shows that)."""
        return bool(self.more_profiles) or self.view is not None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SessionRequest:
        """The request the connection flags make (any of them may be absent from ``args``)."""
        providers = getattr(args, "provider", None)
        named = getattr(args, "profile", None)
        names = [named] if isinstance(named, str) else list(named or [])
        return cls(
            profile=names[0] if names else None,
            more_profiles=tuple(dict.fromkeys(n for n in names[1:] if n != names[0])),
            view=getattr(args, "view", None),
            base_url=getattr(args, "base_url", None),
            api=getattr(args, "api", None),
            providers=tuple(providers) if providers is not None else None,
            api_key_env=getattr(args, "api_key_env", None),
            interval=getattr(args, "interval", None),
            read_only=bool(getattr(args, "read_only", False)),
            allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
            demo=bool(getattr(args, "demo", False)),
        )

    def overrides(self) -> ProfileOverrides:
        return ProfileOverrides(
            base_url=self.base_url,
            api=self.api,
            providers=list(self.providers) if self.providers is not None else None,
            api_key_env=self.api_key_env,
            interval=self.interval,
            read_only=self.read_only,
            allow_insecure_http=self.allow_insecure_http,
        )


def _as_request(request: SessionRequest | argparse.Namespace) -> SessionRequest:
    # Compatibility: tui/ui/app.py (run_app) and tests/test_app.py still pass a Namespace;
    # remove once they build a SessionRequest.
    return request if isinstance(request, SessionRequest) else SessionRequest.from_args(request)


def open_session(request: SessionRequest | argparse.Namespace) -> Session:
    """Open the profile the request asks for; raises ConfigError (exit 2) with one clear line."""
    request = _as_request(request)
    if request.several:
        raise ConfigError(
            "config error: several profiles share one board only in the TUI; this command takes one "
            "--profile (and no --view)"
        )
    if request.demo:
        return start_demo_session(request)
    path = config_path()
    config = load_config(path)
    overrides = request.overrides()
    name, profile = select_profile(config, request.profile, overrides)
    check_transport(profile, profile_name=name, allow_insecure_http_flag=overrides.allow_insecure_http)
    api_key = resolve_api_key(profile, profile_name=name, config_path=path)
    return Session(name, profile, api_key, path)


ONE_GATEWAY_FLAGS = {
    "base_url": "--base-url",
    "api": "--api",
    "providers": "--provider",
    "api_key_env": "--api-key-env",
}
"""Flags that describe one gateway: they cannot apply to several profiles at once."""


def open_sessions(request: SessionRequest | argparse.Namespace) -> list[Session]:
    """Open every profile the request names (``--profile`` repeated, or ``--view``), in order,
    for one board. A request for one profile opens just that one (see :func:`open_session`).

    Only the settings that make sense for all at once apply to each: ``--interval``,
    ``--read-only``, ``--allow-insecure-http``; a flag that describes one gateway is refused.
    Raises ConfigError (exit 2) before anything is opened when any profile is unusable."""
    request = _as_request(request)
    if not request.several:
        return [open_session(request)]
    if request.demo:
        raise ConfigError("config error: --demo watches the built-in simulator alone; drop --profile/--view")
    for attribute, flag in ONE_GATEWAY_FLAGS.items():
        if getattr(request, attribute) is not None:
            raise ConfigError(
                f"config error: {flag} describes one gateway and cannot apply to several profiles; "
                "set it in each profile instead"
            )
    path = config_path()
    config = load_config(path)
    if request.view is not None:
        if request.profile is not None:
            raise ConfigError("config error: give either --view or --profile, not both")
        names = list(config.view(request.view))
    else:
        names = [n for n in (request.profile, *request.more_profiles) if n is not None]
    overrides = request.overrides()
    sessions = []
    for name in names:
        chosen, profile = select_profile(config, name, overrides)
        check_transport(profile, profile_name=chosen, allow_insecure_http_flag=overrides.allow_insecure_http)
        api_key = resolve_api_key(profile, profile_name=chosen, config_path=path)
        sessions.append(Session(chosen, profile, api_key, path))
    return sessions


def recorded_profiles(sessions: list[Session]) -> list[dict[str, Any]]:
    """What a recording's header says of each profile it holds (never the key)."""
    return [
        {
            "name": s.profile_name,
            "base_url": s.profile.base_url,
            "api": s.profile.api,
            "providers": list(s.profile.providers),
            "interval": s.profile.interval,
            "read_only": s.profile.read_only,
            "gateway": s.gateway_host,
            # The demo's board clock runs faster than the wall: a replay paces by it.
            **({"clock_rate": s.demo.clock.speed} if s.demo is not None else {}),
        }
        for s in sessions
    ]


def start_demo_session(request: SessionRequest | argparse.Namespace, **sim_options: Any) -> Session:
    """Start the simulator on a free loopback port; reads and writes no config file."""
    from tui.config import ConfigFile
    from tui.sim import DEMO_PROVIDERS, SimServer, served_providers

    overrides = _as_request(request).overrides()
    # Validate the flags before starting a server that would then have to be stopped.
    overrides.base_url = "http://127.0.0.1"
    overrides.providers = overrides.providers or list(DEMO_PROVIDERS)
    overrides.interval = overrides.interval or DEMO_INTERVAL
    _, profile = select_profile(ConfigFile(path=None, profiles={}), None, overrides)
    sim = SimServer(
        port=0,
        seed=sim_options.pop("seed", 7),
        speed=sim_options.pop("speed", DEMO_SPEED),
        arrivals=sim_options.pop("arrivals", DEMO_ARRIVALS),
        showcase=sim_options.pop("showcase", True),  # one batch per on-call signal
        providers=served_providers(profile.providers),
        **sim_options,
    ).start()
    profile = profile.model_copy(update={"base_url": sim.base_url})
    return Session(DEMO_PROFILE, profile, None, None, demo=sim, label="built-in simulator")
