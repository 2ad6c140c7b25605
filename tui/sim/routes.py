"""What the simulated gateway answers to each batch call, independent of how it is sent.

The handler turns HTTP into a :class:`Route` and sends back the :class:`Reply` computed
here; faults may then replace or mangle that reply on the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from tui.sim import shapes
from tui.sim.world import SimWorld

_ATOI = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)  # what strconv.Atoi accepts (within int64)
LIMIT_MAX = 100
"""The most batches one list page holds, whatever ``limit`` asks for (the providers' own
cap: OpenAI and Anthropic accept 1..100)."""


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


def error_reply(body: dict[str, object], headers: dict[str, str] | None = None) -> Reply:
    """A BifrostError sent with the status SendBifrostError picks for it."""
    return Reply(shapes.http_status(body), body, headers or {})


def no_route() -> Reply:
    return Reply(404, shapes.error_body(404, "no such endpoint"))


def provider_problem(world: SimWorld, provider: str | None, request_type: str) -> Reply | None:
    """The gateway's refusal when ``provider`` is missing, has no batch API, or has no keys.

    transports/bifrost-http/handlers/inference.go checks only that ``provider`` is there; any
    name then reaches core, where a provider this simulator does not serve is one with no
    keys (core/bifrost.go getKeysForBatchAndFileOps)."""
    if not provider:
        return error_reply(shapes.missing_provider_error())
    if provider in shapes.NO_BATCH_API and provider not in world.providers:
        return error_reply(shapes.unsupported_error(provider, request_type))
    if provider not in world.providers:
        return error_reply(shapes.no_keys_error(provider, request_type))
    return None


def answer(
    world: SimWorld,
    route: Route,
    provider: str,
    query: dict[str, list[str]],
    page_size: int,
    *,
    ignore_after: bool = False,
) -> Reply:
    """Serve a batch call for a provider already checked by :func:`provider_problem`."""
    now = world.clock.now()
    if route.request_type == shapes.BATCH_LIST:
        return _list(world, provider, query, page_size, now, ignore_after)
    requested = str(route.batch_id)
    batch_id = world.resolve(provider, requested)
    if route.request_type == shapes.BATCH_RETRIEVE:
        view = world.view(provider, batch_id, now)
        if view is None:
            return error_reply(shapes.not_found_error(provider, route.request_type, requested))
        return Reply(200, shapes.retrieve_response(*view, now))
    result = world.cancel(provider, batch_id)
    if result is None:
        return error_reply(shapes.not_found_error(provider, route.request_type, requested))
    if result.outcome == "refused":
        return error_reply(shapes.cancel_refusal(result.plan, result.state))
    return Reply(200, shapes.cancel_response(result.plan, result.state, now, requested))


def _limit(raw: str, page_size: int) -> int:
    # inference.go batchList: `if n, err := strconv.Atoi(limit); err == nil && n > 0`; anything
    # else leaves Limit 0, which no provider sends upstream, so the provider's default page
    # size applies. Above 100 the provider caps it.
    n = int(raw) if _ATOI.fullmatch(raw) else 0
    return min(n, LIMIT_MAX) if n > 0 else page_size


def _list(
    world: SimWorld, provider: str, query: dict[str, list[str]], page_size: int, now: float, ignore_after: bool
) -> Reply:
    """A page, walked as providerUtils.SerialListHelper does (core/providers/utils/pagination.go):
    ``after`` is a serial cursor naming a key and that key's native cursor; a key's last page
    hands on to the next key, so a page may be empty and still have more after it."""
    limit = _limit(query.get("limit", [""])[0], page_size)
    keys = world.key_count(provider)
    after = "" if ignore_after else query.get("after", [""])[0]
    key_index, native = 0, ""
    if after:
        try:
            key_index, native = shapes.decode_cursor(after)
        except shapes.CursorError as exc:
            # The newer NewSerialListHelper(..., allowNativeCursorFallback=true) takes an
            # undecodable cursor as the provider's own when there is exactly one key.
            if keys != 1:
                return error_reply(shapes.invalid_cursor_error(provider, str(exc)))
            key_index, native = 0, after
            if not _knows_native(world, provider, native, now):
                return error_reply(shapes.invalid_cursor_error(provider, str(exc)))
        if key_index < 0:
            return error_reply(
                shapes.invalid_cursor_error(provider, f"failed to unmarshal cursor: key index {key_index} out of range")
            )
    latency = shapes.latency_ms(f"{shapes.BATCH_LIST}:{provider}", now)
    if key_index >= keys:
        # GetCurrentKey fails: `{Object: "list", Data: [], HasMore: false}`.
        return Reply(200, shapes.list_response(provider, [], False, None, latency))
    views = world.views_by_key(provider, now)[key_index]
    start = 0
    if native:
        cursors = [shapes.native_cursor(provider, plan.id) for plan, _ in views]
        if native not in cursors:
            # The upstream API rejects a cursor it never issued; the simulator answers
            # the gateway's cursor error rather than invent each provider's reply.
            return error_reply(shapes.invalid_cursor_error(provider, f"unknown page cursor for key {key_index}"))
        start = cursors.index(native) + 1
    page = views[start : start + limit]
    upstream_more = start + limit < len(views)
    items = [shapes.list_item(plan, state, latency) for plan, state in page]
    # SerialListHelper.BuildNextCursor: more on this key -> {v:1, i, c: native of the last
    # item}; this key done but another left -> {v:1, i+1, c: ""} with has_more true; else none.
    if upstream_more:
        cursor: str | None = shapes.encode_cursor(key_index, shapes.native_cursor(provider, page[-1][0].id))
    elif key_index + 1 < keys:
        cursor = shapes.encode_cursor(key_index + 1, "")
    else:
        cursor = None
    return Reply(200, shapes.list_response(provider, items, cursor is not None, cursor, latency))


def _knows_native(world: SimWorld, provider: str, native: str, now: float) -> bool:
    return any(shapes.native_cursor(provider, plan.id) == native for plan, _ in world.views_by_key(provider, now)[0])
