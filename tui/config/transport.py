"""Refuse to send the key in clear text across a network.

Plain http:// is fine to a gateway on the same machine (the simulator, an SSH tunnel)
and dangerous anywhere else, so it takes an explicit opt-in: in the profile, or with
--allow-insecure-http on the command line.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from tui.config.errors import ConfigError
from tui.config.model import Profile


def check_transport(profile: Profile, *, profile_name: str, allow_insecure_http_flag: bool = False) -> None:
    """Raise ConfigError if ``profile`` would send its key over plain http to another host."""
    parts = urlsplit(profile.base_url)
    if parts.scheme.lower() != "http" or profile.allow_insecure_http or allow_insecure_http_flag:
        return
    host = parts.hostname or ""
    if _is_loopback(host):
        return
    raise ConfigError(
        f"config error: refusing plain http:// to {host} (profile '{profile_name}'): the key "
        "would cross the network unencrypted; use https://, or set allow_insecure_http = true "
        "in the profile, or pass --allow-insecure-http"
    )


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
