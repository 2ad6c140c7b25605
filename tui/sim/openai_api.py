"""OpenAI's Batch API as OpenAI itself serves it, under ``/openai``.

The same API is what a LiteLLM proxy and Bifrost's OpenAI-compatible route speak, so a
client pointed at ``{base}/openai`` meets OpenAI's shapes rather than Bifrost's.

- ``GET /openai/v1/batches?limit=&after=``: list, newest first;
- ``GET /openai/v1/batches/{batch_id}``: retrieve;
- ``POST /openai/v1/batches/{batch_id}/cancel``: cancel (the batch, now "cancelling").

``?provider=`` is optional: absent, the world's "openai" batches; present, that simulated
provider's batches (LiteLLM honours ``?provider=``), always in OpenAI's shape.

Sources, read for the wire facts below (no code copied):

- OpenAI API reference, Batch (https://platform.openai.com/docs/api-reference/batch): the
  batch object and its example (field order, ``null`` for unset fields), the list response
  ``{object, data, first_id, last_id, has_more}``, cancel answering the batch "cancelling";
- openai/openai-python ``src/openai/types/batch.py``, ``batch_request_counts.py``,
  ``batch_usage.py``, ``batch_error.py``, ``batch_list_params.py`` (``limit`` 1..100,
  default 20; ``after`` is an object id).

This module does not import, or read shapes from, the client (``tui.api``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib
from collections.abc import Mapping

from tui.sim import shapes
from tui.sim.direct import Headers, common_fault, first, split_route
from tui.sim.faults import FaultRule
from tui.sim.plans import BatchPlan, BatchState
from tui.sim.routes import Reply, Route
from tui.sim.world import SimWorld

PREFIX = "/openai"
DEFAULT_PROVIDER = "openai"
LIMIT_DEFAULT = 20
LIMIT_MAX = 100
"""batch_list_params.py: "Limit can range between 1 and 100, and the default is 20"."""
USAGE_SINCE = 1_757_203_200
"""2025-09-07T00:00:00Z: ``usage`` is "Only populated on batches created after September 7,
2025" (batch.py, batch_usage.py); older batches send ``usage: null``."""

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_FINISHED_WITH_FILES = frozenset({"completed", "expired", "cancelled"})
_COUNTS_AT_END = frozenset({"anthropic", "bedrock"})
"""Families whose upstream reports request counts only once the batch has ended (see
``shapes``): shown in OpenAI's shape, their running counts stay at zero."""

# The reference's batch object example, in its order.
_BATCH_ORDER = (
    "id",
    "object",
    "endpoint",
    "model",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "usage",
    "metadata",
)

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
    "username) if you're accessing the API from your browser and are prompted for a username and "
    "password. You can obtain an API key from https://platform.openai.com/account/api-keys."
)
# OpenAI's own text goes on "Incorrect API key provided: sk-...abcd." with the key masked;
# the simulator never repeats a presented key in any form, so that part is left out.
_WRONG_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."

# What OpenAI answers for a status, as (type, code, message), for ``status`` faults.
_STATUS_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", _WRONG_KEY),
    403: ("invalid_request_error", None, "You are not allowed to perform this request."),
    404: ("invalid_request_error", None, "Not found."),
    409: ("invalid_request_error", None, "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    504: ("server_error", None, "Gateway timeout."),
}


def error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """OpenAI's error body, ``{"error": {"message", "type", "param", "code"}}``, with
    ``param`` and ``code`` sent as null when unset."""
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return Reply(status, body, headers or {})


class OpenAIBatchAPI:
    """OpenAI's Batch API (see the module docstring)."""

    prefix = PREFIX

    def parse_route(self, method: str, raw_path: str) -> Route | None:
        segments = raw_path.removeprefix(PREFIX).split("/")
        if segments[:3] != ["", "v1", "batches"]:
            return None
        return split_route(method, segments[3:], shapes.BATCH_LIST, shapes.BATCH_RETRIEVE, shapes.BATCH_CANCEL)

    def refusal(self, headers: Headers, api_key: str | None) -> Reply | None:
        """``Authorization: Bearer <key>`` (the reference's curl examples): without a key,
        401 with code null; with a wrong one, 401 ``invalid_api_key``. Both are
        ``invalid_request_error``, as OpenAI answers them. The key is compared, never echoed."""
        if api_key is None:
            return None
        authorization = headers.get("Authorization")
        scheme, _, value = (authorization or "").strip().partition(" ")
        bearer = scheme.lower() == "bearer"
        presented = value.strip() if bearer else ""
        if not authorization or (bearer and not presented):
            return error(401, _NO_KEY)
        if bearer and hmac.compare_digest(presented.encode(), api_key.encode()):
            return None
        return error(401, _WRONG_KEY, code="invalid_api_key")

    def provider(self, query: Mapping[str, list[str]]) -> str:
        return first(query, "provider") or DEFAULT_PROVIDER

    def no_route(self, method: str, raw_path: str) -> Reply:
        # OpenAI's answer to a path it does not serve: 404 "Invalid URL (GET /v1/...)".
        return error(404, f"Invalid URL ({method} {raw_path.removeprefix(PREFIX)})")

    def stamp(self, reply: Reply, serial: int) -> Reply:
        """OpenAI answers carry an ``x-request-id`` header; fixed here by the request's serial."""
        rid = "req_" + hashlib.sha1(f"openai-request:{serial}".encode()).hexdigest()[:32]
        return Reply(reply.status, reply.payload, {**reply.headers, "x-request-id": rid})

    def answer(self, world: SimWorld, route: Route, provider: str, query: Mapping[str, list[str]]) -> Reply:
        if provider not in world.providers:
            # Not OpenAI's (it has no such parameter): a proxy's refusal of a provider it does
            # not serve, in OpenAI's error shape.
            return error(400, f"Unknown provider '{provider}'.", param="provider")
        now = world.clock.now()
        if route.request_type == shapes.BATCH_LIST:
            return _list(world, provider, query, now)
        requested = str(route.batch_id)
        batch_id = world.resolve(provider, requested)
        if route.request_type == shapes.BATCH_RETRIEVE:
            view = world.view(provider, batch_id, now)
            if view is None:
                return _not_found(requested)
            return Reply(200, batch_object(*view))
        result = world.cancel(provider, batch_id)
        if result is None:
            return _not_found(requested)
        if result.outcome == "refused":
            # The reference does not say what cancelling a finished batch answers. Seen from
            # the live API: openai.ConflictError (409) "Cannot cancel a batch with status
            # 'completed'." (BerriAI/litellm tests/batches_tests/test_openai_batches_and_files.py
            # catches exactly that), type invalid_request_error, param and code null.
            status = batch_object(result.plan, result.state)["status"]
            return error(409, f"Cannot cancel a batch with status '{status}'.")
        # Accepted, or already cancelling: the batch as it now stands (reference: cancel
        # returns the batch object, "cancelling" until it settles as "cancelled").
        return Reply(200, batch_object(result.plan, result.state))

    def fault_reply(self, fault: FaultRule, route: Route | None) -> Reply | None:
        if fault.kind == "status":
            kind, code, message = _STATUS_ERRORS.get(
                fault.status,
                ("server_error", None, "Server error.")
                if fault.status >= 500
                else ("invalid_request_error", None, "Request failed."),
            )
            return error(fault.status, message, error_type=kind, code=code)
        if fault.kind == "rate_limit":
            kind, code, message = _STATUS_ERRORS[429]
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return error(429, message, error_type=kind, code=code, headers=headers)
        return common_fault(fault, route)


def _not_found(batch_id: str) -> Reply:
    # 404 invalid_request_error; the message text is the simulator's (not in the reference).
    return error(404, f"No batch found with id '{batch_id}'.")


def _limit(raw: str | None) -> int | Reply:
    # batch_list_params.py: 1..100, default 20. Out of range or not a number, the simulator
    # answers 400 with param "limit" and OpenAI's usual codes for integer parameters; what
    # OpenAI itself says for this endpoint is not in the reference.
    if raw is None:
        return LIMIT_DEFAULT
    if not _INTEGER.fullmatch(raw):
        return error(
            400, f"Invalid 'limit': expected an integer, but got '{raw}' instead.", param="limit", code="invalid_type"
        )
    n = int(raw)
    if n < 1:
        return error(
            400,
            f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {n} instead.",
            param="limit",
            code="integer_below_min_value",
        )
    if n > LIMIT_MAX:
        return error(
            400,
            f"Invalid 'limit': integer above maximum value. Expected a value <= {LIMIT_MAX}, but got {n} instead.",
            param="limit",
            code="integer_above_max_value",
        )
    return n


def _list(world: SimWorld, provider: str, query: Mapping[str, list[str]], now: float) -> Reply:
    """A page, newest first; ``after`` is the id of the last batch of the previous page
    (batch_list_params.py), so the page starts just after it."""
    limit = _limit(first(query, "limit"))
    if isinstance(limit, Reply):
        return limit
    views = world.views(provider, now)
    start = 0
    after = first(query, "after")
    if after:
        ids = [plan.id for plan, _ in views]
        cursor = world.resolve(provider, after)
        if cursor not in ids:
            # Not in the reference: the simulator refuses a cursor it never handed out.
            return error(400, f"Invalid 'after': no batch with id '{after}'.", param="after")
        start = ids.index(cursor) + 1
    page = views[start : start + limit]
    data = [batch_object(plan, state) for plan, state in page]
    return Reply(
        200,
        {
            "object": "list",
            "data": data,
            "first_id": page[0][0].id if page else None,
            "last_id": page[-1][0].id if page else None,
            "has_more": start + limit < len(views),
        },
    )


def batch_object(plan: BatchPlan, state: BatchState) -> dict[str, object]:
    """The batch as OpenAI writes it: every field of the reference's example, in its order,
    ``null`` when unset (OpenAI sends nulls; Bifrost omits them).

    The same batch reads as it does through the gateway's OpenAI shape (``shapes``): same
    status, counts (completed = requests that succeeded; zero until validated), file ids and
    timestamps. Other providers' batches, selected with ``?provider=``, show the neutral
    state of the plan in OpenAI's vocabulary; for Anthropic and Bedrock, whose counts arrive
    only when the batch ends, running counts stay at zero.
    """
    fam = shapes.family(plan.provider)
    status = shapes.openai_native_status(plan, state) if fam == "openai" else state.status
    counted = state.finished or fam not in _COUNTS_AT_END
    succeeded = state.succeeded if counted else 0
    errored = state.errored if counted else 0
    files = state.status in _FINISHED_WITH_FILES
    errors = shapes.standing_errors(plan, state)
    t = state.times
    fields: dict[str, object] = {
        "id": plan.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "model": plan.model,
        "errors": {"object": "list", "data": [_batch_error(e) for e in errors]} if errors else None,
        "input_file_id": shapes.file_id(plan, "input"),
        "completion_window": "24h",
        "status": status,
        "output_file_id": shapes.file_id(plan, "output") if files and succeeded else None,
        "error_file_id": shapes.file_id(plan, "errors") if files and errored else None,
        "created_at": plan.created_at,
        "in_progress_at": t.get("in_progress_at"),
        "expires_at": plan.expires_at,
        "finalizing_at": t.get("finalizing_at"),
        "completed_at": t.get("completed_at"),
        "failed_at": t.get("failed_at"),
        "expired_at": t.get("expired_at"),
        "cancelling_at": t.get("cancelling_at"),
        "cancelled_at": t.get("cancelled_at"),
        "request_counts": {
            "total": plan.total if state.validated else 0,
            "completed": succeeded,
            "failed": errored,
        },
        "usage": usage(plan, succeeded),
        "metadata": dict(plan.metadata) or None,
    }
    return {key: fields[key] for key in _BATCH_ORDER}


def _batch_error(entry: dict[str, object]) -> dict[str, object]:
    # batch_error.py: code, line, message, param, each optional (null when unknown).
    return {key: entry.get(key) for key in ("code", "message", "param", "line")}


def usage(plan: BatchPlan, succeeded: int) -> dict[str, object] | None:
    """Token usage in batch_usage.py's shape. The numbers are INVENTED, not measured: a
    per-request input and output size fixed by the batch id, times the requests that have
    succeeded so far, with a share of the input cached and, for reasoning models (o-series,
    gpt-5), a share of the output spent reasoning. Deterministic: same plan, same counts,
    same numbers. None (sent as null) for batches created before 2025-09-07."""
    if plan.created_at < USAGE_SINCE:
        return None
    seed = zlib.crc32(f"{plan.id}:usage".encode())
    per_input = 150 + seed % 850
    per_output = 40 + (seed >> 10) % 360
    cached_share = (seed >> 20) % 5 / 10
    input_tokens = succeeded * per_input
    output_tokens = succeeded * per_output
    reasoning = plan.model.startswith(("o1", "o3", "o4", "gpt-5"))
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": int(input_tokens * cached_share)},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": output_tokens * 3 // 5 if reasoning else 0},
        "total_tokens": input_tokens + output_tokens,
    }
