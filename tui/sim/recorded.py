"""A gateway that answers as a recorded one did: ``batchtop sim --replay FILE``. No Textual.

A recording from the field (``batchtop --record``) holds every answer the board took:
each provider's batches exactly as the gateway sent them, the ids it answered 404 for, and
the polls that failed and how. Served again on loopback with Bifrost's batch API, the
board, ``list``, ``show`` and ``watch`` meet the same data, so a bug seen in the field can
be reproduced, and kept as a test fixture.

Time runs from the recording's first answer at ``speed`` (and stays at its last once
there): a list at time t gives each provider's batches as last recorded by t, newest
first, paged by ``after`` = the last id (as Bifrost accepts with one key); a provider whose
latest recorded poll by t failed answers that failure (its status and message) again.
Cancel is refused (400): a recording cannot stop anything. The recording is read by the
command line (``tui/cli/simulator.py``) and handed here as plain :class:`RecordedAnswer`
values: the simulator does not know the recording format, or the client's models.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tui.sim import shapes
from tui.sim.clock import SimClock
from tui.sim.routes import LIMIT_MAX, parse_route

PAGE_SIZE = 20
"""Batches per page when ``limit`` is missing (OpenAI's default)."""


@dataclass(frozen=True)
class RecordedAnswer:
    """One recorded answer of one provider."""

    at: float
    provider: str
    batches: tuple[dict[str, Any], ...] = ()
    gone: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    """Set for a poll that failed: its status and message."""


@dataclass
class _Provider:
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each id's latest object, in order of first sight."""
    gone: set[str] = field(default_factory=set)
    failure: dict[str, Any] | None = None


class RecordedWorld:
    """Each provider's state at any recorded time."""

    def __init__(self, answers: list[RecordedAnswer], clock: SimClock) -> None:
        self.answers = sorted(answers, key=lambda a: a.at)
        self.clock = clock
        self.providers = sorted({a.provider for a in self.answers})
        self.start = self.answers[0].at if self.answers else clock.now()
        self.end = self.answers[-1].at if self.answers else self.start
        self._lock = threading.Lock()
        self._applied = 0
        self._state = {p: _Provider() for p in self.providers}

    def state(self, provider: str) -> _Provider:
        """The provider as recorded by now (answers are taken in time order, once)."""
        now = self.clock.now()
        with self._lock:
            while self._applied < len(self.answers) and self.answers[self._applied].at <= now:
                answer = self.answers[self._applied]
                self._applied += 1
                known = self._state[answer.provider]
                if answer.error is not None:
                    known.failure = answer.error
                    continue
                known.failure = None
                for batch in answer.batches:
                    batch_id = batch.get("id")
                    if isinstance(batch_id, str):
                        known.batches[batch_id] = batch
                        known.gone.discard(batch_id)
                known.gone.update(answer.gone)
            return self._state[provider]


def _newest_first(batches: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    def created(item: tuple[int, dict[str, Any]]) -> tuple[float, int]:
        at = item[1].get("created_at")
        return (-(at if isinstance(at, int | float) else 0), -item[0])

    return [b for _, b in sorted(enumerate(batches.values()), key=created)]


def _failure_reply(provider: str, request_type: str, error: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    recorded = error.get("status")
    status = recorded if isinstance(recorded, int) and 400 <= recorded <= 599 else 503
    message = str(error.get("message") or "recorded failure")
    body = shapes.bifrost_error(
        message, status_code=status, is_bifrost=False, provider=provider, request_type=request_type
    )
    return status, body


def answer(world: RecordedWorld, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    """The status and JSON body for one request."""
    route = parse_route(method, path)
    if route is None:
        return 404, shapes.error_body(404, "no such endpoint")
    provider = (query.get("provider") or [""])[0]
    if not provider:
        body = shapes.missing_provider_error()
        return shapes.http_status(body), body
    if provider not in world.providers:
        body = shapes.no_keys_error(provider, route.request_type)
        return shapes.http_status(body), body
    state = world.state(provider)
    if route.request_type == shapes.BATCH_CANCEL:
        body = shapes.bifrost_error(
            "this gateway replays a recording: nothing can be cancelled",
            status_code=400,
            error_type="invalid_request_error",
            provider=provider,
            request_type=route.request_type,
        )
        return 400, body
    if state.failure is not None:
        return _failure_reply(provider, route.request_type, state.failure)
    if route.request_type == shapes.BATCH_RETRIEVE:
        batch = state.batches.get(str(route.batch_id))
        if batch is None or route.batch_id in state.gone:
            body = shapes.not_found_error(provider, route.request_type, str(route.batch_id))
            return shapes.http_status(body), body
        return 200, batch
    listed = [b for b in _newest_first(state.batches) if b.get("id") not in state.gone]
    after = (query.get("after") or [""])[0]
    if after:
        ids = [b.get("id") for b in listed]
        listed = listed[ids.index(after) + 1 :] if after in ids else []
    raw_limit = (query.get("limit") or [""])[0]
    limit = min(int(raw_limit), LIMIT_MAX) if raw_limit.isdigit() and int(raw_limit) > 0 else PAGE_SIZE
    page = listed[:limit]
    listing: dict[str, Any] = {"object": "list", "data": page}
    if len(listed) > limit:
        listing["has_more"] = True
    if page:
        listing["last_id"] = page[-1].get("id")
    listing["extra_fields"] = {"request_type": route.request_type, "provider": provider}
    return 200, listing


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        status, body = answer(self.server.world, method, parts.path, parse_qs(parts.query))
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    world: RecordedWorld
    verbose: bool


class RecordedGateway:
    """The recorded gateway on ``host:port`` (0: a free port), in a thread."""

    def __init__(
        self,
        answers: list[RecordedAnswer],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        start: float | None = None,
        verbose: bool = False,
        frozen: bool = False,
    ) -> None:
        first = min((a.at for a in answers), default=None)
        self.clock = SimClock(start if start is not None else first, speed=speed, frozen=frozen)
        self.world = RecordedWorld(answers, self.clock)
        self._server = _Server((host, port), _Handler)
        self._server.world = self.world
        self._server.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RecordedGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="recorded gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["RecordedAnswer", "RecordedGateway", "RecordedWorld", "answer"]
