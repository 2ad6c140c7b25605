"""What the providers' own batch APIs, served beside the gateway's, have in common.

The simulator answers three batch APIs on one port, told apart by the path:

- ``/v1/batches``: Bifrost's native API (``routes``, ``shapes``), unchanged;
- ``/openai/v1/batches``: OpenAI's Batch API as OpenAI serves it (``openai_api``);
- ``/anthropic/v1/messages/batches``: Anthropic's Message Batches API (``anthropic_api``).

All three read the same :class:`~tui.sim.world.SimWorld`, so one simulated batch is the
same batch through each of them. The direct APIs write their wire shapes from the
providers' public references, never from the client (``tui.api``).

Keys and faults on the direct routes (see ``GatewayHandler._serve_direct``): the server's one
configured key, presented the provider's way (OpenAI ``Authorization: Bearer``, Anthropic
``x-api-key``); fault rules match the request's path (``/openai/...``, ``/anthropic/...``),
method and provider ("openai" unless ``?provider=`` says otherwise, "anthropic"), and act as
on the native API, except ``unsupported`` and ``ignore_after``, which are Bifrost's own and
leave the direct routes alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import unquote

from tui.sim import shapes
from tui.sim.faults import FaultRule
from tui.sim.routes import Reply, Route
from tui.sim.world import SimWorld


class Headers(Protocol):
    """What the handler's request headers offer (``http.client.HTTPMessage``)."""

    def get(self, name: str, /) -> str | None: ...


class DirectAPI(Protocol):
    """One provider's own batch API under its path prefix."""

    prefix: str

    def parse_route(self, method: str, raw_path: str) -> Route | None:
        """The batch call a path (below the prefix, still percent-encoded) names, or None."""
        ...

    def refusal(self, headers: Headers, api_key: str | None) -> Reply | None:
        """The API's answer to a request it refuses before looking at it (key, headers)."""
        ...

    def provider(self, query: Mapping[str, list[str]]) -> str:
        """The simulated provider whose batches the request reads (possibly unknown)."""
        ...

    def no_route(self, method: str, raw_path: str) -> Reply:
        """The API's answer to a path or method it does not serve."""
        ...

    def answer(self, world: SimWorld, route: Route, provider: str, query: Mapping[str, list[str]]) -> Reply:
        """The API's answer to the call."""
        ...

    def stamp(self, reply: Reply, serial: int) -> Reply:
        """The reply with what the API adds to every answer (request ids), given the
        request's serial number on this server."""
        ...

    def fault_reply(self, fault: FaultRule, route: Route | None) -> Reply | None:
        """What a fault answers in place of the API, in its error shape; None when the fault
        only changes how the real answer is delivered (or does not apply to this API)."""
        ...


def split_route(method: str, rest: list[str], list_type: str, retrieve_type: str, cancel_type: str) -> Route | None:
    """``GET ""`` list, ``GET {id}`` retrieve, ``POST {id}/cancel`` cancel: the path after the
    collection, split while still percent-encoded so an id with ``/`` stays one segment."""
    if method == "GET" and (not rest or rest == [""]):
        return Route(list_type)
    if not rest or not rest[0]:
        return None
    batch_id = unquote(rest[0])
    if method == "GET" and len(rest) == 1:
        return Route(retrieve_type, batch_id)
    if method == "POST" and rest[1:] == ["cancel"]:
        return Route(cancel_type, batch_id)
    return None


def first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def rfc3339(seconds: int | None, salt: str) -> str | None:
    """A unix time as an RFC 3339 UTC string with microseconds, as Anthropic writes them
    ("2024-08-20T18:37:24.100435Z"). The fraction is derived from ``salt``, so it is
    stable across runs, and truncating it gives back ``seconds``."""
    if seconds is None:
        return None
    micros = int.from_bytes(hashlib.sha1(salt.encode()).digest()[:4], "big") % 1_000_000
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def common_fault(fault: FaultRule, route: Route | None) -> Reply | None:
    """Faults that look the same through every API. The others change only how the real
    answer is delivered (latency, drop, reset, trickle, oversized), are written in each API's
    error shape (status, rate_limit), or are the gateway's own and do not apply to the
    providers' APIs (unsupported, ignore_after): those answer normally."""
    if fault.kind == "malformed_json":
        return Reply(200, b'{"object": "list", "data": [')
    if fault.kind == "wrong_shape":
        if route is None or route.request_type == shapes.BATCH_LIST:
            return Reply(200, {"data": "not a list", "object": 7})
        return Reply(200, [{"id": 7, "status": ["in_progress"]}])
    return None
