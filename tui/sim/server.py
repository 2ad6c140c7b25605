"""The simulated gateway as a real HTTP server on loopback, and ``batchtop sim``.

The server can go down and come back on the same port with its batches intact, which is
what a client's reconnect and stale-data paths need to be tested against.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from http.server import ThreadingHTTPServer

from tui.sim import shapes
from tui.sim.clock import SimClock
from tui.sim.faults import FaultInjector
from tui.sim.handler import GatewayHandler
from tui.sim.world import SimWorld

DEFAULT_PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
DEMO_PROVIDERS = DEFAULT_PROVIDERS + ("vertex",)
"""What the demo can serve: every batch family the gateway has."""


def served_providers(named: Sequence[str] | None) -> tuple[str, ...]:
    """What to simulate for the providers a person named: each once, any name (custom ones
    OpenAI-shaped), except those Bifrost has no batch API for — the gateway answers
    unsupported_operation for them; none named, or none left, is the demo's set."""
    chosen = (p.strip().lower() for p in named or ())
    return tuple(dict.fromkeys(p for p in chosen if p and p not in shapes.NO_BATCH_API)) or DEMO_PROVIDERS


_JOIN_TIMEOUT = 2.0


class GatewayHTTPServer(ThreadingHTTPServer):
    """One listening socket of a :class:`SimServer`, tracking its open connections so
    that going down closes them too (a dead gateway does not keep answering on a pooled
    keep-alive connection)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim: SimServer, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sim = sim
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__((host, port), GatewayHandler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, a DNS call that can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket) -> bool:
        """Register a connection; False if the server is already closing."""
        with self._lock:
            if self.closing.is_set():
                return False
            self._connections[connection] = threading.current_thread()
            return True

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet about network errors, which are routine here (faults, going down, clients
        that hang up); anything else is a bug in the simulator and prints its traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            traceback.print_exc()

    def close_everything(self) -> None:
        """Stop accepting, close the listening socket and every connection, join handlers."""
        with self._lock:
            self.closing.set()
            connections = dict(self._connections)
        self.shutdown()
        self.server_close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler
        for thread in connections.values():
            thread.join(_JOIN_TIMEOUT)


class SimServer:
    """A Bifrost-compatible gateway on loopback, serving simulated batches per provider.

    ``providers`` may name any provider, custom ones too ("siliconflow"): anthropic,
    bedrock, gemini and vertex are served in their own shapes, every other name in
    OpenAI's. A provider not named is one the gateway has no keys for. ``keys`` gives a
    provider several gateway keys (see :class:`SimWorld`); ``page_size`` is the page a list
    gets without a usable ``limit``.

    ``clock``, ``faults`` and ``world`` are public so that tests can step time, inject
    faults and add batches directly; another process can do the same through ``/_sim/``.
    ``history`` adds that many long-finished batches per provider, older than the rest
    (a gateway with years of batches; the benchmarks use it).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        speed: float = 1.0,
        frozen: bool = False,
        start_time: float | None = None,
        api_key: str | None = None,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        batches_per_provider: int = 8,
        hostile: bool = False,
        page_size: int = 20,
        ssl_context: ssl.SSLContext | None = None,
        verbose: bool = False,
        arrivals: float | None = None,
        keys: Mapping[str, int | Sequence[int]] | None = None,
        history: int = 0,
        showcase: bool = False,
    ) -> None:
        providers = tuple(providers)
        bad = [p for p in providers if not isinstance(p, str) or not p or p != p.strip()]
        if bad or len(set(providers)) != len(providers):
            raise ValueError(f"providers must be distinct non-empty names: {providers!r}")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
        self.host = host
        self.port = port
        self.seed = seed
        self.api_key = api_key
        self.page_size = page_size
        self.verbose = verbose
        self.clock = SimClock(start_time, speed, frozen)
        self.faults = FaultInjector(seed)
        self.world = SimWorld(
            self.clock,
            seed=seed,
            providers=providers,
            batches_per_provider=batches_per_provider,
            hostile=hostile,
            arrivals=arrivals,
            keys=keys,
            history=history,
            showcase=showcase,
        )
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._requests = 0
        self._httpd: GatewayHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the simulator has no port until start()")
        scheme = "https" if self._ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def request_count(self) -> int:
        """Batch API requests received (``/_sim/`` control calls are not counted)."""
        with self._lock:
            return self._requests

    def count_request(self) -> int:
        """Count a batch API request; returns its serial number (1, 2, ...)."""
        with self._lock:
            self._requests += 1
            return self._requests

    def log(self, line: str) -> None:
        """Write an access line (verbose mode), with control characters and the key masked."""
        if self.api_key:
            line = line.replace(self.api_key, "***")
        printable = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in line)
        print(printable, file=sys.stderr, flush=True)

    def start(self) -> SimServer:
        """Listen and serve in a background daemon thread. Idempotent."""
        if self._httpd is None:
            self._listen()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection, and join the serving thread."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.close_everything()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)

    def go_down(self) -> None:
        """Stop listening (new connections are refused) but keep batches, clock and port."""
        self.stop()

    def come_up(self) -> None:
        """Listen again on the same port."""
        self.start()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _listen(self) -> None:
        httpd = GatewayHTTPServer(self, self.host, self.port, self._ssl_context)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"batchtop-sim:{self.port}", daemon=True
        )
        self._thread.start()


def serve(
    host: str = "127.0.0.1",
    port: int = 8099,
    seed: int = 7,
    speed: float = 1.0,
    api_key: str | None = None,
    verbose: bool = True,
    *,
    hostile: bool = False,
    providers: Sequence[str] = DEFAULT_PROVIDERS,
    batches_per_provider: int = 8,
    arrivals: float | None = None,
    history: int = 0,
) -> int:
    """Run the simulator in the foreground for ``batchtop sim`` until Ctrl-C; returns 0.
    Raises OSError when the address cannot be bound."""
    server = SimServer(
        host=host,
        port=port,
        seed=seed,
        speed=speed,
        api_key=api_key,
        providers=providers,
        batches_per_provider=batches_per_provider,
        hostile=hostile,
        verbose=verbose,
        arrivals=arrivals,
        history=history,
    )
    server.start()  # OSError (port in use, say) is the caller's to report
    print(
        f"batchtop sim: Bifrost-compatible gateway on {server.base_url} (seed {seed}, "
        f"speed {speed:g}x, providers {', '.join(providers)})",
        flush=True,
    )
    print(
        f'  and, of the same batches: OpenAI\'s Batch API on {server.base_url}/openai (api = "openai"), '
        f'Anthropic\'s Message Batches on {server.base_url}/anthropic (api = "anthropic")',
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
