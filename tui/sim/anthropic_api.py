"""Anthropic's Message Batches API, as Anthropic serves it, under ``/anthropic``.

- ``GET /anthropic/v1/messages/batches?limit=&after_id=&before_id=``: list, newest first;
- ``GET /anthropic/v1/messages/batches/{message_batch_id}``: retrieve;
- ``POST /anthropic/v1/messages/batches/{message_batch_id}/cancel``: cancel.

It serves the world's "anthropic" batches, the same ones the gateway's native API shows
for ``provider=anthropic``: one simulated batch reads the same through either.

Sources, read for the wire facts below (no code copied):

- Anthropic API reference, Message Batches (https://docs.anthropic.com/en/api/creating-message-batches,
  .../retrieving-message-batches, .../listing-message-batches, .../canceling-message-batches):
  the message batch object, RFC 3339 timestamps, the list's ``data``/``has_more``/``first_id``/
  ``last_id``, ``limit`` 1..1000 default 20, ``after_id``/``before_id``, "Most recently created
  batches are returned first", the ``x-api-key`` and ``anthropic-version`` headers;
- Anthropic API reference, Errors (https://docs.anthropic.com/en/api/errors): the error shape
  ``{"type": "error", "error": {"type", "message"}}`` plus ``request_id``, and the type per status;
- anthropics/anthropic-sdk-python ``src/anthropic/types/messages/message_batch.py`` and
  ``message_batch_request_counts.py`` (counts other than ``processing`` are "zero until
  processing of the entire Message Batch has ended"), ``batch_list_params.py``;
- maximhq/bifrost ``core/providers/anthropic/batch.go`` ``AnthropicBatchResponse``: the field
  order used here (id, type, processing_status, request_counts, ended_at, created_at,
  expires_at, archived_at, cancel_initiated_at, results_url).

This module does not import, or read shapes from, the client (``tui.api``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from collections.abc import Mapping

from tui.sim import shapes
from tui.sim.direct import Headers, common_fault, first, rfc3339, split_route
from tui.sim.faults import FaultRule
from tui.sim.plans import BatchPlan, BatchState
from tui.sim.routes import Reply, Route
from tui.sim.world import SimWorld

PREFIX = "/anthropic"
PROVIDER = "anthropic"
LIMIT_DEFAULT = 20
LIMIT_MAX = 1000
"""listing-message-batches: "Defaults to 20. Ranges from 1 to 1000." (batch_list_params.py)."""
VERSIONS = frozenset({"2023-06-01", "2023-01-01"})
"""The API versions Anthropic's versioning page lists."""

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_ID_ALPHABET = string.ascii_letters + string.digits

# Errors page: the error type for each status; others: invalid_request_error for a 4xx
# ("We may also use this error type for other 4XX status codes"), api_error for a 5xx.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Your account has hit a rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Anthropic's error body; :meth:`AnthropicBatchAPI.stamp` adds its ``request_id``."""
    return Reply(status, {"type": "error", "error": {"type": error_type, "message": message}}, headers or {})


def request_id(serial: int) -> str:
    """A ``req_...`` id (the errors page's format), fixed by the request's serial number."""
    digest = hashlib.sha1(f"anthropic-request:{serial}".encode()).digest()
    return "req_011C" + "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:20])


class AnthropicBatchAPI:
    """Anthropic's Message Batches API (see the module docstring)."""

    prefix = PREFIX

    def parse_route(self, method: str, raw_path: str) -> Route | None:
        segments = raw_path.removeprefix(PREFIX).split("/")
        if segments[:4] != ["", "v1", "messages", "batches"]:
            return None
        return split_route(method, segments[4:], shapes.BATCH_LIST, shapes.BATCH_RETRIEVE, shapes.BATCH_CANCEL)

    def refusal(self, headers: Headers, api_key: str | None) -> Reply | None:
        """The key in ``x-api-key`` (401 authentication_error "x-api-key header is required"
        without it, "invalid x-api-key" when wrong: Anthropic's answers as reported by its
        users), then the required ``anthropic-version`` (400 invalid_request_error
        "anthropic-version: header is required"). Which of the two Anthropic checks first is
        not documented; here the key goes first. The key is compared, never echoed."""
        if api_key is not None:
            presented = headers.get("x-api-key")
            if presented is None or not presented.strip():
                return error(401, "authentication_error", "x-api-key header is required")
            if not hmac.compare_digest(presented.strip().encode(), api_key.encode()):
                return error(401, "authentication_error", "invalid x-api-key")
        version = headers.get("anthropic-version")
        if version is None or not version.strip():
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        if version.strip() not in VERSIONS:
            return error(400, "invalid_request_error", f'anthropic-version: "{version.strip()}" is not a valid version')
        return None

    def provider(self, query: Mapping[str, list[str]]) -> str:
        return PROVIDER

    def no_route(self, method: str, raw_path: str) -> Reply:
        return error(404, "not_found_error", "Not Found")

    def stamp(self, reply: Reply, serial: int) -> Reply:
        """Every answer carries a ``request-id`` header; error bodies carry it as ``request_id``
        too (errors page)."""
        rid = request_id(serial)
        payload = reply.payload
        if isinstance(payload, dict) and payload.get("type") == "error" and "request_id" not in payload:
            payload = {**payload, "request_id": rid}
        return Reply(reply.status, payload, {**reply.headers, "request-id": rid})

    def answer(self, world: SimWorld, route: Route, provider: str, query: Mapping[str, list[str]]) -> Reply:
        now = world.clock.now()
        served = provider in world.providers  # a world without Anthropic: a workspace with no batches
        if route.request_type == shapes.BATCH_LIST:
            return _list(world.views(provider, now) if served else [], query)
        batch_id = str(route.batch_id)
        if route.request_type == shapes.BATCH_RETRIEVE:
            view = world.view(provider, batch_id, now) if served else None
            if view is None:
                return _not_found()
            return Reply(200, batch_object(*view))
        result = world.cancel(provider, batch_id) if served else None
        if result is None:
            return _not_found()
        if result.outcome == "refused":
            # The reference says only that "Batches may be canceled any time before processing
            # ends". What Anthropic answers afterwards is not documented: the simulator sends
            # the refusal its gateway shapes already pass up for Anthropic (shapes.cancel_refusal),
            # 409 invalid_request_error.
            return error(
                409, "invalid_request_error", f"Batch {result.plan.id} has already ended and cannot be canceled."
            )
        # canceling-message-batches: the batch, now (or still) "canceling".
        return Reply(200, batch_object(result.plan, result.state))

    def fault_reply(self, fault: FaultRule, route: Route | None) -> Reply | None:
        if fault.kind == "status":
            kind, message = _STATUS_ERRORS.get(
                fault.status,
                ("api_error", "Internal server error")
                if fault.status >= 500
                else ("invalid_request_error", "Invalid request."),
            )
            return error(fault.status, kind, message)
        if fault.kind == "rate_limit":
            kind, message = _STATUS_ERRORS[429]
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            return error(429, kind, message, headers)
        return common_fault(fault, route)


def _not_found() -> Reply:
    # Errors page: 404 not_found_error, with the page's own example message.
    return error(404, "not_found_error", "The requested resource could not be found.")


def _limit(raw: str | None) -> int | Reply:
    # 1..1000, default 20. Outside that, a 400 invalid_request_error; the message text is the
    # simulator's (the reference gives none).
    if raw is None:
        return LIMIT_DEFAULT
    n = int(raw) if _INTEGER.fullmatch(raw) else None
    if n is None or not 1 <= n <= LIMIT_MAX:
        return error(400, "invalid_request_error", f"limit: Input should be an integer between 1 and {LIMIT_MAX}")
    return n


def _list(views: list[tuple[BatchPlan, BatchState]], query: Mapping[str, list[str]]) -> Reply:
    """A page of ``views`` (newest first). ``after_id``: the page immediately after that
    batch; ``before_id``: the page immediately before it; ``has_more``: "if there are more
    results in the requested page direction"; ``first_id``/``last_id``: the page's ends,
    null on an empty page."""
    limit = _limit(first(query, "limit"))
    if isinstance(limit, Reply):
        return limit
    after, before = first(query, "after_id"), first(query, "before_id")
    if after and before:
        # Not in the reference: the simulator takes one direction at a time.
        return error(400, "invalid_request_error", "after_id and before_id cannot both be given")
    ids = [plan.id for plan, _ in views]
    cursor = after or before
    if cursor and cursor not in ids:
        # Not in the reference: the simulator refuses a cursor that names no batch.
        return error(400, "invalid_request_error", f"{'after_id' if after else 'before_id'}: no batch with id {cursor}")
    if before:
        end = ids.index(before)
        start = max(0, end - limit)
        page, has_more = views[start:end], start > 0
    else:
        start = ids.index(after) + 1 if after else 0
        page, has_more = views[start : start + limit], start + limit < len(views)
    return Reply(
        200,
        {
            "data": [batch_object(plan, state) for plan, state in page],
            "has_more": has_more,
            "first_id": page[0][0].id if page else None,
            "last_id": page[-1][0].id if page else None,
        },
    )


def batch_object(plan: BatchPlan, state: BatchState) -> dict[str, object]:
    """The message batch as Anthropic writes it, every field present, ``null`` when unset.

    The state is read exactly as the gateway's Anthropic shape reads it (``shapes``): the same
    processing_status, and counts that do not move while the batch runs ("Requests start as
    processing and move to one of the other statuses only once processing of the entire batch
    ends"): processing = every request until the batch ends, then succeeded / errored /
    canceled / expired. ``ended_at`` is the end of any ending, ``cancel_initiated_at`` the
    cancel, ``results_url`` set once processing has ended."""
    processing = shapes.anthropic_processing_status(plan, state)
    ended = processing == "ended"
    if ended:
        counts = {
            "processing": state.pending,
            "succeeded": state.succeeded,
            "errored": state.errored,
            "canceled": state.canceled,
            "expired": state.expired,
        }
    else:
        counts = {"processing": plan.total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    t = state.times

    def stamp(seconds: int | None) -> str | None:
        # One sub-second fraction per batch, so expires_at stays exactly 24 h after created_at.
        return rfc3339(seconds, plan.id)

    return {
        "id": plan.id,
        "type": "message_batch",
        "processing_status": processing,
        "request_counts": counts,
        "ended_at": stamp(shapes.ended_at(state) if ended else None),
        "created_at": stamp(plan.created_at),
        "expires_at": stamp(plan.expires_at),
        "archived_at": stamp(t.get("archived_at")),
        "cancel_initiated_at": stamp(t.get("cancelling_at")),
        "results_url": f"https://api.anthropic.com/v1/messages/batches/{plan.id}/results" if ended else None,
    }
