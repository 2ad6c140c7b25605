"""From command-line flags to a chosen profile, its key and a client. No Textual.

Shared by the headless commands and the TUI so that both read the config, pick the
profile and apply the overrides in exactly one way.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.api import BifrostClient
from tui.config import (
    Profile,
    ProfileOverrides,
    check_transport,
    config_path,
    load_config,
    resolve_api_key,
    select_profile,
)

if TYPE_CHECKING:
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

    def client(self) -> BifrostClient:
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
        )

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None


def overrides_from_args(args: argparse.Namespace) -> ProfileOverrides:
    return ProfileOverrides(
        base_url=getattr(args, "base_url", None),
        providers=getattr(args, "provider", None),
        api_key_env=getattr(args, "api_key_env", None),
        interval=getattr(args, "interval", None),
        read_only=bool(getattr(args, "read_only", False)),
        allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
    )


def open_session(args: argparse.Namespace) -> Session:
    """Pick the profile the flags ask for; raises ConfigError (exit 2) with one clear line."""
    if getattr(args, "demo", False):
        return start_demo_session(args)
    path = config_path()
    config = load_config(path)
    overrides = overrides_from_args(args)
    name, profile = select_profile(config, getattr(args, "profile", None), overrides)
    check_transport(profile, profile_name=name, allow_insecure_http_flag=overrides.allow_insecure_http)
    api_key = resolve_api_key(profile, profile_name=name, config_path=path)
    return Session(name, profile, api_key, path)


def start_demo_session(args: argparse.Namespace, **sim_options: Any) -> Session:
    """Start the simulator on a free loopback port; reads and writes no config file."""
    from tui.config import ConfigFile
    from tui.sim import DEMO_PROVIDERS, SimServer
    from tui.sim.shapes import NO_BATCH_API

    overrides = overrides_from_args(args)
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
        # Any provider named is simulated (custom ones OpenAI-shaped), except those Bifrost
        # has no batch API for: the gateway answers unsupported_operation for them.
        providers=tuple(p for p in profile.providers if p not in NO_BATCH_API) or DEMO_PROVIDERS,
        **sim_options,
    ).start()
    profile = profile.model_copy(update={"base_url": sim.base_url})
    return Session(DEMO_PROFILE, profile, None, None, demo=sim, label="built-in simulator")
