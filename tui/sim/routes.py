"""What the simulated gateway answers to each batch call, independent of how it is sent.

The handler turns HTTP into a :class:`Route` and sends back the :class:`Reply` computed
here; faults may then replace or mangle that reply on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from tui.sim import shapes
from tui.sim.world import SimWorld

LIMIT_MAX = 100
"""The most batches one list page holds, whatever ``limit`` asks for."""


@dataclass
class Reply:
    """A response to send: ``payload`` is JSON-encoded unless it is already bytes."""

    status: int
    payload: object
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    request_type: str
    batch_id: str | None = None


def parse_route(method: str, raw_path: str) -> Route | None:
    """Match a batch call. The path is split while still percent-encoded, so an id like
    ``batches/abc`` arrives as one segment and is decoded only afterwards."""
    segments = raw_path.split("/")
    if segments[:3] != ["", "v1", "batches"]:
        return None
    rest = segments[3:]
    if method == "GET" and not rest:
        return Route(shapes.BATCH_LIST)
    if not rest or not rest[0]:
        return None
    batch_id = unquote(rest[0])
    if method == "GET" and len(rest) == 1:
        return Route(shapes.BATCH_RETRIEVE, batch_id)
    if method == "POST" and rest[1:] == ["cancel"]:
        return Route(shapes.BATCH_CANCEL, batch_id)
    return None


def no_route() -> Reply:
    return Reply(404, shapes.error_body(404, "no such endpoint", bifrost=True))


def provider_problem(world: SimWorld, provider: str | None, request_type: str) -> Reply | None:
    """The gateway's refusal when ``provider`` is missing, unknown or not configured."""
    if not provider:
        return Reply(400, shapes.error_body(400, "provider query parameter is required",
                                            request_type=request_type, bifrost=True))
    if provider not in shapes.BIFROST_PROVIDERS:
        return Reply(400, shapes.error_body(400, f"unknown provider: {provider[:60]}",
                                            request_type=request_type, bifrost=True))
    if provider not in world.providers:
        return Reply(400, shapes.unsupported_body(provider, request_type))
    return None


def answer(world: SimWorld, route: Route, provider: str, query: dict[str, list[str]],
           page_size: int) -> Reply:
    """Serve a batch call for a provider already checked by :func:`provider_problem`."""
    now = world.clock.now()
    if route.request_type == shapes.BATCH_LIST:
        return _list(world, provider, query, page_size, now)
    batch_id = str(route.batch_id)
    if route.request_type == shapes.BATCH_RETRIEVE:
        view = world.view(provider, batch_id, now)
        if view is None:
            return _not_found(provider, route)
        return Reply(200, shapes.retrieve_response(*view, now))
    result = world.cancel(provider, batch_id)
    if result is None:
        return _not_found(provider, route)
    if result.outcome == "refused":
        status, body = shapes.cancel_refusal(result.plan, result.state)
        return Reply(status, body)
    return Reply(200, shapes.cancel_response(result.plan, result.state, now))


def _not_found(provider: str, route: Route) -> Reply:
    return Reply(404, shapes.error_body(404, f"batch {route.batch_id!r} not found",
                                        provider=provider, request_type=route.request_type))


def _bad_request(provider: str, message: str) -> Reply:
    return Reply(400, shapes.error_body(400, message, provider=provider,
                                        request_type=shapes.BATCH_LIST))


def _list(world: SimWorld, provider: str, query: dict[str, list[str]], page_size: int,
          now: float) -> Reply:
    raw_limit = query.get("limit", [""])[0]
    try:
        limit = min(int(raw_limit), LIMIT_MAX) if raw_limit else page_size
    except ValueError:
        limit = 0
    if limit < 1:
        return _bad_request(provider, "limit must be a positive integer")
    views = world.views(provider, now)
    start = 0
    after = query.get("after", [""])[0]
    if after:
        ids = [plan.id for plan, _ in views]
        # A plain batch id (OpenAI SDK style) or one of our cursors.
        after_id = after if after in ids else shapes.decode_cursor(provider, after)
        if after_id not in ids:
            return _bad_request(provider, "invalid pagination cursor")
        start = ids.index(after_id) + 1
    page = views[start:start + limit]
    items = [shapes.batch_object(plan, state, listing=True) for plan, state in page]
    has_more = start + limit < len(views)
    return Reply(200, shapes.list_response(provider, items, has_more, now))
