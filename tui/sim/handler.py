"""The HTTP side of the simulated gateway: auth, faults, and putting replies on the wire.

Built on ``http.server`` so that request parsing is the standard library's, not ours.
HTTP/1.1 with a Content-Length on every reply keeps connections alive the way a client's
pool expects, which is also what makes ``drop`` and ``reset`` faults bite.
"""

from __future__ import annotations

import hmac
import json
import socket
import ssl
import struct
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tui.sim import shapes
from tui.sim.anthropic_api import AnthropicBatchAPI
from tui.sim.control import handle_control
from tui.sim.direct import DirectAPI
from tui.sim.faults import FaultRule
from tui.sim.openai_api import OpenAIBatchAPI
from tui.sim.routes import Reply, Route, answer, error_reply, no_route, parse_route, provider_problem

if TYPE_CHECKING:
    from tui.sim.server import GatewayHTTPServer

_KEY_HEADERS = ("x-bf-vk", "x-api-key", "x-goog-api-key")
_DIRECT_APIS: tuple[DirectAPI, ...] = (OpenAIBatchAPI(), AnthropicBatchAPI())
"""The providers' own batch APIs, each under its path prefix (see ``tui.sim.direct``)."""
_TRICKLE_TICK = 0.05  # seconds between trickled writes


class GatewayHandler(BaseHTTPRequestHandler):
    """Serves one connection: the batch API under /v1, OpenAI's under /openai, Anthropic's
    under /anthropic, the control API under /_sim."""

    protocol_version = "HTTP/1.1"
    server_version = "bifrost-sim"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: GatewayHTTPServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # Handshake here, in the connection's thread, not in the accept loop.
            self.request.do_handshake()
        super().setup()
        self._accepted = self.server.track(self.connection)

    def handle(self) -> None:
        if self._accepted:  # not while the gateway is going down
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: an access line, when wanted, is written by :meth:`_log_access`."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- request flow ----------------------------------------------------------------

    def _serve(self, method: str) -> None:
        started = time.monotonic()
        sim = self.server.sim
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        provider = query.get("provider", [None])[0]
        body = self._read_body()
        if url.path == "/_sim" or url.path.startswith("/_sim/"):
            reply = self._auth_problem(None, None) or handle_control(sim, method, url.path, body)
            self._send(reply)
            self._log_access(method, reply.status, started)
            return

        direct = next((a for a in _DIRECT_APIS if url.path == a.prefix or url.path.startswith(a.prefix + "/")), None)
        if direct is not None:
            self._serve_direct(direct, method, url.path, query, started)
            return
        sim.count_request()
        route = parse_route(method, url.path)
        request_type = route.request_type if route else None
        denied = self._auth_problem(provider, request_type)
        if denied:
            self._send(denied)
            self._log_access(method, denied.status, started)
            return
        if route and route.request_type == shapes.BATCH_CANCEL and provider:
            sim.world.note_cancel_post(provider, str(route.batch_id))

        ignore_after = sim.faults.ignores_after(method, url.path, provider)
        fault = sim.faults.pick(method, url.path, provider)
        if fault and fault.kind == "drop":
            self.close_connection = True  # no reply at all: the request is lost
            self._log_access(method, None, started, fault)
            return
        if fault and fault.kind == "latency":
            self.server.closing.wait(fault.delay)
        faulted = self._fault_reply(fault, provider, request_type) if fault else None
        reply = faulted if faulted is not None else self._gateway_reply(route, provider, query, ignore_after)
        if fault and fault.kind == "oversized" and reply.status == 200:
            reply = _padded(reply, fault.size)
        self._send(reply, fault)
        self._log_access(method, reply.status, started, fault)

    def _serve_direct(
        self, api: DirectAPI, method: str, path: str, query: dict[str, list[str]], started: float
    ) -> None:
        """A provider's own API: its key and headers, then faults as on the native API, then
        its answer, each in the provider's own shapes."""
        sim = self.server.sim
        serial = sim.count_request()
        route = api.parse_route(method, path)
        provider = api.provider(query)
        denied = api.refusal(self.headers, sim.api_key)
        if denied is not None:
            self._send(api.stamp(denied, serial))
            self._log_access(method, denied.status, started)
            return
        if route and route.request_type == shapes.BATCH_CANCEL and provider in sim.world.providers:
            sim.world.note_cancel_post(provider, sim.world.resolve(provider, str(route.batch_id)))
        fault = sim.faults.pick(method, path, provider)
        if fault and fault.kind == "drop":
            self.close_connection = True
            self._log_access(method, None, started, fault)
            return
        if fault and fault.kind == "latency":
            self.server.closing.wait(fault.delay)
        reply = api.fault_reply(fault, route) if fault else None
        if reply is None:
            reply = api.answer(sim.world, route, provider, query) if route else api.no_route(method, path)
        if fault and fault.kind == "oversized" and reply.status == 200:
            reply = _padded(reply, fault.size)
        reply = api.stamp(reply, serial)
        self._send(reply, fault)
        self._log_access(method, reply.status, started, fault)

    def _gateway_reply(
        self, route: Route | None, provider: str | None, query: dict[str, list[str]], ignore_after: bool = False
    ) -> Reply:
        if route is None:
            return no_route()
        world = self.server.sim.world
        problem = provider_problem(world, provider, route.request_type)
        if problem is not None:
            return problem
        return answer(world, route, provider or "", query, self.server.sim.page_size, ignore_after=ignore_after)

    def _read_body(self) -> bytes:
        # The body must be read even when unused, or it would be parsed as the next request.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # not worth supporting: answer, then hang up
            return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _auth_problem(self, provider: str | None, request_type: str | None) -> Reply | None:
        """401 without a key, 403 with a wrong one; None when no key is configured or it matches.

        The presented key is compared, never repeated: not in a reply, not in a log line.
        """
        expected = self.server.sim.api_key
        if expected is None:
            return None
        presented = []
        authorization = self.headers.get("Authorization")
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            presented.append(value.strip() if scheme.lower() == "bearer" else "")
        presented += [header.strip() for name in _KEY_HEADERS if (header := self.headers.get(name)) is not None]
        if not presented:
            return Reply(
                401, shapes.error_body(401, "virtual key is required", provider=provider, request_type=request_type)
            )
        if any(hmac.compare_digest(key.encode(), expected.encode()) for key in presented):
            return None
        return Reply(403, shapes.error_body(403, "virtual key not found", provider=provider, request_type=request_type))

    # -- faults ----------------------------------------------------------------------

    def _fault_reply(self, fault: FaultRule, provider: str | None, request_type: str | None) -> Reply | None:
        """The reply a fault puts in place of the gateway's, or None if it only alters
        how the real reply is delivered (latency, reset, trickle, oversized)."""
        shown_type = request_type or shapes.BATCH_LIST
        shown_provider = provider or "unknown"
        if fault.kind == "status":
            return error_reply(shapes.status_fault_error(shown_provider, shown_type, fault.status))
        if fault.kind == "rate_limit":
            # The provider's 429 passed up (utils.go HandleProviderAPIError + the provider's
            # parser), with the provider's Retry-After forwarded.
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return error_reply(shapes.upstream_error(shown_provider, shown_type, 429), headers)
        if fault.kind == "malformed_json":
            return Reply(200, b'{"object": "list", "data": [')
        if fault.kind == "wrong_shape":
            if shown_type == shapes.BATCH_LIST:
                return Reply(200, {"data": "not a list", "object": 7})
            return Reply(200, [{"id": 7, "status": ["in_progress"]}])
        if fault.kind == "unsupported":
            return error_reply(shapes.unsupported_error(shown_provider, shown_type, legacy=fault.legacy))
        return None

    # -- the wire --------------------------------------------------------------------

    def _send(self, reply: Reply, fault: FaultRule | None = None) -> None:
        if isinstance(reply.payload, bytes):
            body = reply.payload
        else:
            body = json.dumps(reply.payload, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if fault and fault.kind == "reset":
            self._send_half_then_reset(body)
        elif fault and fault.kind == "trickle":
            self._trickle(body, fault.rate)
        else:
            self.wfile.write(body)

    def _send_half_then_reset(self, body: bytes) -> None:
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        # Linger on with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()  # really closes once finish() has closed rfile

    def _trickle(self, body: bytes, rate: int) -> None:
        step = max(1, int(rate * _TRICKLE_TICK))
        for offset in range(0, len(body), step):
            self.wfile.write(body[offset : offset + step])
            self.wfile.flush()
            if self.server.closing.wait(step / rate):
                self.close_connection = True
                return

    def _log_access(self, method: str, status: int | None, started: float, fault: FaultRule | None = None) -> None:
        sim = self.server.sim
        if not sim.verbose:
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        line = (
            f"{self.client_address[0]} {method} {self.path} {status or '-'} "
            f"{elapsed_ms:.0f}ms{f' fault={fault.kind}' if fault else ''}"
        )
        sim.log(line)


def _padded(reply: Reply, size: int) -> Reply:
    """The same reply, still valid JSON, grown by a metadata value of ``size`` bytes."""
    payload = reply.payload
    if not isinstance(payload, dict):
        return reply
    padding = "x" * size
    data = payload.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        first = {**data[0], "metadata": {**data[0].get("metadata", {}), "padding": padding}}
        payload = {**payload, "data": [first, *data[1:]]}
    else:
        payload = {**payload, "metadata": {**payload.get("metadata", {}), "padding": padding}}
    return Reply(reply.status, payload, reply.headers)
