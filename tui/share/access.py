"""Who may see a shared board: the access control textual-serve lacks. No Textual.

- A random token in the URL path (``/t/TOKEN/``), on the page, its files and the websocket;
  compared in constant time. Anything else is refused, with no hint of the token.
- The Host header must name this server (the address it is bound to, loopback by its names,
  or the ``--public-url``): a web page cannot reach it through a DNS name rebound to
  127.0.0.1.
- A browser's Origin, when sent, must be this server's: a page of another site open in the
  same browser cannot open a websocket to it. Clients that send no Origin are not browsers;
  they still need the token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TOKEN_BYTES = 24
"""Random bytes in a token (32 URL-safe characters)."""

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _host_forms(host: str, port: int, scheme: str = "http") -> set[str]:
    """The spellings of ``host:port`` a Host header may carry (no port when it is the default)."""
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    forms = {f"{host}:{port}"}
    if port == _default_port(scheme):
        forms.add(host)
    return forms


@dataclass
class Access:
    """The rules of one shared board; they name the port, so they are complete once it is
    bound (:meth:`listening`)."""

    token: str
    bind_host: str
    port: int = 0
    public_url: str | None = None
    hosts: set[str] = field(default_factory=set)
    origins: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.listening(self.port)

    def listening(self, port: int) -> None:
        """The server listens on ``port``: the Host and Origin it accepts follow."""
        self.port = port
        loopback = self.bind_host in ("127.0.0.1", "localhost", "::1")
        names = {self.bind_host, *LOOPBACK_NAMES} if loopback else {self.bind_host}
        hosts: set[str] = set()
        origins: set[str] = set()
        for name in names:
            forms = _host_forms(name, port)
            hosts |= forms
            origins |= {f"http://{form}" for form in forms}
        if self.public_url:
            parts = urlsplit(self.public_url)
            public_port = parts.port or _default_port(parts.scheme)
            forms = _host_forms(parts.hostname or "", public_port, parts.scheme)
            hosts |= forms
            origins |= {f"{parts.scheme}://{form}" for form in forms}
        self.hosts = hosts
        self.origins = origins

    @property
    def base_url(self) -> str:
        """Where viewers open the board (the public URL when one is given)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        return f"http://{host}:{self.port}"

    @property
    def board_path(self) -> str:
        return f"/t/{self.token}/"

    @property
    def board_url(self) -> str:
        return self.base_url + self.board_path

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.lower() in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """No Origin (not a browser) passes; a browser's must be this server's."""
        return origin is None or origin.lower().rstrip("/") in self.origins


def check_public_url(url: str) -> str | None:
    """Why ``url`` cannot be a ``--public-url`` (None when it can)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--public-url {url!r}: expected http(s)://HOST[:PORT]"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"--public-url {url!r}: give the scheme, host and port only (the board's path is added)"
    try:
        parts.port  # noqa: B018 — raises on a bad port
    except ValueError:
        return f"--public-url {url!r}: not a port number"
    return None
