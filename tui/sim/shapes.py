"""The gateway's wire format, written out per provider.

This module deliberately knows nothing of the client's models (``tui.api``): it spells
every field from the Bifrost API facts, so a misreading in the client shows up as a
failing test instead of being mirrored here. Field order follows the gateway's Go structs;
fields that are empty or zero are left out, never sent as null.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import string
import zlib

from tui.sim.plans import BatchPlan, BatchState

# The providers Bifrost accepts in ``provider=``. Kept here rather than imported from
# tui.api so that the simulator stays an independent reading of the API.
BIFROST_PROVIDERS = frozenset({
    "openai", "azure", "anthropic", "bedrock", "cohere", "vertex", "vllm", "mistral",
    "ollama", "groq", "sgl", "parasail", "perplexity", "replicate", "cerebras", "gemini",
    "openrouter", "elevenlabs", "huggingface", "nebius", "xai", "runway", "fireworks",
})

BATCH_LIST = "batch_list"
BATCH_RETRIEVE = "batch_retrieve"
BATCH_CANCEL = "batch_cancel"

_BEDROCK_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"
_VERTEX_PREFIX = "projects/123456789012/locations/us-central1/batchPredictionJobs/"
_LOWER_ALNUM = string.ascii_lowercase + string.digits

_STATUS_TYPES = {
    400: ("invalid_request_error", "invalid request"),
    401: ("virtual_key_required", "virtual key is required"),
    402: ("budget_exceeded", "budget exceeded"),
    403: ("virtual_key_not_found", "virtual key not found"),
    404: ("not_found", "not found"),
    408: ("request_timeout", "request timed out"),
    409: ("conflict", "conflict"),
    429: ("rate_limited", "request limit reached"),
    500: ("internal_server_error", "internal server error"),
    502: ("bad_gateway", "upstream provider returned an invalid response"),
    503: ("service_unavailable", "provider temporarily unavailable"),
    504: ("gateway_timeout", "upstream provider timed out"),
}


def family(provider: str) -> str:
    """Which wire shape a provider's batches take: anthropic, bedrock, gemini or openai.

    Vertex batches are Gemini-shaped; every other provider speaks OpenAI's batch API.
    """
    if provider in ("anthropic", "bedrock", "gemini"):
        return provider
    return "gemini" if provider == "vertex" else "openai"


def new_batch_id(provider: str, rng: random.Random) -> str:
    """A fresh id in the provider's own format (several contain ``/`` and ``:``)."""
    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    if provider == "vertex":
        return _VERTEX_PREFIX + pick(string.digits, 19)
    return {
        "anthropic": lambda: "msgbatch_" + pick(string.ascii_letters + string.digits, 24),
        "bedrock": lambda: _BEDROCK_ARN + pick(_LOWER_ALNUM, 12),
        "gemini": lambda: "batches/" + pick(_LOWER_ALNUM, 20),
        "openai": lambda: "batch_" + pick("0123456789abcdef", 24),
    }[family(provider)]()


def latency_ms(key: str, now: float) -> int:
    """A plausible latency that depends only on the request and the simulated second,
    so that responses stay byte-identical across runs."""
    return 40 + zlib.crc32(f"{key}@{int(now)}".encode()) % 400


def _file_id(plan: BatchPlan, role: str) -> str:
    return "file-" + hashlib.sha1(f"{plan.id}:{role}".encode()).hexdigest()[:24]


def _compact(fields: dict[str, object]) -> dict[str, object]:
    """Drop what the gateway's ``omitempty`` drops: None, "", 0, empty maps and lists."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != {} and v != []
            and not (type(v) is int and v == 0)}


def _errors(plan: BatchPlan, state: BatchState) -> dict[str, object] | None:
    # A validation error only exists once validation has failed; any other plan's errors
    # are a standing error summary (the hostile batches carry one from the start).
    if not plan.errors or (plan.outcome == "failed" and state.status != "failed"):
        return None
    return {"object": "list", "data": [dict(entry) for entry in plan.errors]}


def batch_object(plan: BatchPlan, state: BatchState, *, listing: bool = False) -> dict[str, object]:
    """The batch as the gateway sends it, in a list (``listing``) or on its own."""
    writer = {"openai": _openai, "anthropic": _anthropic, "bedrock": _bedrock,
              "gemini": _gemini}[family(plan.provider)]
    return writer(plan, state, listing)


def _openai(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # OpenAI sends only total/completed/failed, and zeros until the input is validated.
    validated = state.validated
    counts = {"total": plan.total if validated else 0,
              "completed": state.succeeded, "failed": state.errored}
    finished = state.status in ("completed", "expired", "cancelled")
    t = state.times
    return _compact({
        "id": plan.id, "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": _file_id(plan, "input"), "completion_window": "24h",
        "status": state.status, "request_counts": counts, "metadata": plan.metadata,
        "created_at": plan.created_at, "expires_at": plan.expires_at,
        "in_progress_at": t.get("in_progress_at"), "finalizing_at": t.get("finalizing_at"),
        "completed_at": t.get("completed_at"), "failed_at": t.get("failed_at"),
        "expired_at": t.get("expired_at"), "cancelling_at": t.get("cancelling_at"),
        "cancelled_at": t.get("cancelled_at"),
        "output_file_id": _file_id(plan, "output") if finished and state.succeeded else None,
        "error_file_id": _file_id(plan, "errors") if finished and state.errored else None,
        "errors": _errors(plan, state),
    })


_ANTHROPIC_STATUS = {"cancelling": ("cancelling", "canceling")}


def _anthropic(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # Anthropic knows only in_progress, canceling and ended; "ended" covers every way out,
    # told apart by the counts, and the end time arrives as completed_at.
    if state.finished:
        status = processing = "ended"
    else:
        status, processing = _ANTHROPIC_STATUS.get(state.status, ("in_progress", "in_progress"))
    # As Bifrost maps Anthropic's counts: completed = succeeded, failed = errored; the
    # other buckets ride along only when non-zero.
    counts = {"total": state.total, "completed": state.succeeded,
              "failed": state.errored, "succeeded": state.succeeded, "canceled": state.canceled,
              "expired": state.expired, "pending": state.pending}
    counts = {k: v for k, v in counts.items() if v or k in ("total", "completed", "failed")}
    t = state.times
    ended_at = max((t[k] for k in ("completed_at", "expired_at", "cancelled_at") if k in t), default=None)
    return _compact({
        "id": plan.id, "object": "message_batch", "status": status, "request_counts": counts,
        "metadata": plan.metadata, "created_at": plan.created_at, "expires_at": plan.expires_at,
        "completed_at": ended_at, "cancelling_at": t.get("cancelling_at"),
        "errors": _errors(plan, state), "processing_status": processing,
        "results_url": f"https://api.anthropic.com/v1/messages/batches/{plan.id}/results"
        if state.finished else None,
        "archived_at": t.get("archived_at"),
    })


def _times(plan: BatchPlan, state: BatchState) -> dict[str, int | None]:
    """Creation, expiry and the milestones reached, for providers without a finalizing step."""
    t = state.times
    return {"created_at": plan.created_at, "expires_at": plan.expires_at,
            **{k: t.get(k) for k in ("in_progress_at", "completed_at", "failed_at",
                                     "expired_at", "cancelling_at", "cancelled_at")}}


def _bedrock(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # Bedrock's list call carries no counts at all: the gateway fills in zeros.
    if listing:
        counts = {"total": 0, "completed": 0, "failed": 0}
    else:
        counts = {"total": plan.total, "completed": state.succeeded, "failed": state.errored}
    status = {"validating": plan.raw_status or "validating", "finalizing": "in_progress"}.get(
        state.status, state.status)
    return _compact({
        "id": plan.id, "status": status, "request_counts": counts, "metadata": plan.metadata,
        **_times(plan, state), "errors": _errors(plan, state),
    })


def _gemini(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    total = 0 if plan.unknown_total else plan.total
    counts = {"total": total, "completed": state.succeeded, "failed": state.errored}
    progress = 100 * state.processed // total if total else None
    status = "in_progress" if state.status == "finalizing" else state.status
    return {
        **_compact({
            "id": plan.id, "status": status, "request_counts": counts, "metadata": plan.metadata,
            **_times(plan, state), "errors": _errors(plan, state), "operation_name": plan.id,
        }),
        "done": state.finished,  # a pointer in the gateway: false is sent, not dropped
        **_compact({"progress": progress}),
    }


def extra_fields(plan: BatchPlan, request_type: str, now: float) -> dict[str, object]:
    """The gateway's ``extra_fields`` for one batch; some batches use the older spelling
    of the model fields, as earlier gateway versions send."""
    fields: dict[str, object] = {"request_type": request_type, "provider": plan.provider,
                                 "latency": latency_ms(f"{request_type}:{plan.id}", now),
                                 "chunk_index": 0}
    if plan.legacy_model_fields:
        fields.update(model_requested=plan.model, model_deployment=plan.model)
    else:
        fields.update(original_model_requested=plan.model, resolved_model_used=plan.model)
    return fields


def retrieve_response(plan: BatchPlan, state: BatchState, now: float) -> dict[str, object]:
    return {**batch_object(plan, state), "extra_fields": extra_fields(plan, BATCH_RETRIEVE, now)}


def cancel_response(plan: BatchPlan, state: BatchState, now: float) -> dict[str, object]:
    """What the gateway's cancel answers: a cut-down batch (id, status, counts, cancel
    times), not the full object; the client has to retrieve the batch for the rest."""
    full = batch_object(plan, state)
    keep = ("id", "object", "status", "request_counts", "cancelling_at", "cancelled_at")
    return {**{k: full[k] for k in keep if k in full},
            "extra_fields": extra_fields(plan, BATCH_CANCEL, now)}


def list_response(provider: str, items: list[dict[str, object]], has_more: bool,
                  now: float) -> dict[str, object]:
    body: dict[str, object] = {"object": "list", "data": items}
    if items:
        body["first_id"] = items[0]["id"]
        body["last_id"] = items[-1]["id"]
    if has_more:
        body["has_more"] = True
        body["next_cursor"] = encode_cursor(provider, str(items[-1]["id"]))
    body["extra_fields"] = {"request_type": BATCH_LIST, "provider": provider,
                            "latency": latency_ms(f"{BATCH_LIST}:{provider}", now)}
    return body


def encode_cursor(provider: str, batch_id: str) -> str:
    """base64url of "provider:last id", padding kept: clients must URL-encode the ``=``."""
    return base64.urlsafe_b64encode(f"{provider}:{batch_id}".encode()).decode("ascii")


def decode_cursor(provider: str, cursor: str) -> str | None:
    """The batch id a cursor points after, or None if it is not one of ours for ``provider``."""
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    owner, sep, batch_id = raw.partition(":")
    return batch_id if sep and owner == provider and batch_id else None


def error_body(status: int, message: str | None = None, *, error_type: str | None = None,
               provider: str | None = None, request_type: str | None = None,
               bifrost: bool = False) -> dict[str, object]:
    """The gateway's error shape; ``bifrost`` marks errors the gateway raised itself
    (missing provider, auth) rather than passed up from a provider."""
    default_type, default_message = _STATUS_TYPES.get(status, ("api_error", "request failed"))
    kind = error_type or default_type
    extra = {k: v for k, v in (("provider", provider), ("request_type", request_type)) if v}
    return {"is_bifrost_error": bifrost, "status_code": status, "type": kind,
            "error": {"type": kind, "code": str(status), "message": message or default_message},
            "extra_fields": extra}


def cancel_refusal(plan: BatchPlan, state: BatchState) -> tuple[int, dict[str, object]]:
    """How each provider refuses to cancel a batch that has already finished."""
    shown = str(batch_object(plan, state)["status"])
    status, kind, message = {
        "openai": (400, "invalid_request_error", f"Cannot cancel a batch with status '{shown}'."),
        "anthropic": (409, "invalid_request_error",
                      f"Batch {plan.id} has already ended and cannot be canceled."),
        "bedrock": (400, "ValidationException",
                    f"The job is in a terminal state ({shown}) and cannot be stopped."),
        "gemini": (400, "FAILED_PRECONDITION",
                   f"Batch {plan.id} is already in a terminal state ({shown})."),
    }[family(plan.provider)]
    return status, error_body(status, message, error_type=kind, provider=plan.provider,
                              request_type=BATCH_CANCEL)


def unsupported_body(provider: str, request_type: str) -> dict[str, object]:
    return error_body(400, f"{request_type} is not supported by {provider} provider",
                      error_type="unsupported_operation", provider=provider,
                      request_type=request_type, bifrost=True)
