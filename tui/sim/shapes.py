"""The gateway's wire format, written out per provider family.

This module deliberately knows nothing of the client's models (``tui.api``): every field is
spelled from Bifrost's own Go source (github.com/maximhq/bifrost), and each wire fact below
names the file it was read from, so that a misreading in the client shows up as a failing
test instead of being mirrored here.

Conventions taken from the source:

- Field order follows the Go structs (``core/schemas/batch.go``: BifrostBatchRetrieveResponse,
  BifrostBatchListResponse, BifrostBatchCancelResponse), because ``encoding/json`` writes
  struct fields in declaration order.
- ``omitempty`` drops "", 0, nil and empty maps; pointers (``*int64``, ``*bool``) are dropped
  only when nil, so ``"done": false`` is sent. ``request_counts`` is a non-pointer struct, on
  which omitempty has no effect: total/completed/failed are always sent, the Anthropic-only
  succeeded/expired/canceled/pending only when non-zero (``BatchRequestCounts``).
- ``extra_fields`` is a non-pointer struct without omitempty on every response *and on every
  list item*; its ``request_type``, ``latency`` and ``chunk_index`` have no omitempty, its
  ``provider`` and model names do (core/schemas/bifrost.go, BifrostResponseExtraFields).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import string
import zlib

from tui.sim.plans import BatchPlan, BatchState

BATCH_LIST = "batch_list"
BATCH_RETRIEVE = "batch_retrieve"
BATCH_CANCEL = "batch_cancel"
# core/schemas/bifrost.go: RequestType constants BatchListRequest = "batch_list", ...

FAMILIES = ("openai", "anthropic", "bedrock", "gemini", "vertex")

_BEDROCK_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"
_VERTEX_PREFIX = "projects/123456789012/locations/us-central1/batchPredictionJobs/"
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_END_TIMES = ("completed_at", "failed_at", "expired_at", "cancelled_at")


def family(provider: str) -> str:
    """Which provider converter the gateway runs for ``provider``.

    core/bifrost.go imports one package per base provider (anthropic, bedrock, gemini,
    vertex, openai, azure, ...). Azure reuses the OpenAI batch converters
    (core/providers/azure/azure.go calls ``batch.ToBifrostBatchRetrieveResponse`` on
    ``openai.OpenAIBatchListResponse``), and so does any other configured name here,
    custom OpenAI-compatible providers ("siliconflow") included.
    """
    return provider if provider in FAMILIES else "openai"


def new_batch_id(provider: str, rng: random.Random) -> str:
    """A fresh id in the provider's own format (several contain ``/`` and ``:``)."""

    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return {
        "anthropic": lambda: "msgbatch_" + pick(string.ascii_letters + string.digits, 24),
        # bedrock.go BatchList/BatchRetrieve: ID is job.JobArn.
        "bedrock": lambda: _BEDROCK_ARN + pick(_LOWER_ALNUM, 12),
        # gemini.go batchListByKey: "Full name (batches/<id>)".
        "gemini": lambda: "batches/" + pick(_LOWER_ALNUM, 20),
        # vertex batch.go vertexBatchJobToBifrost: ID is job.Name, the full resource name.
        "vertex": lambda: _VERTEX_PREFIX + pick(string.digits, 19),
        "openai": lambda: "batch_" + pick("0123456789abcdef", 24),
    }[family(provider)]()


def latency_ms(key: str, now: float) -> int:
    """A plausible latency that depends only on the request and the simulated second,
    so that responses stay byte-identical across runs."""
    return 40 + zlib.crc32(f"{key}@{int(now)}".encode()) % 400


def _digest(plan: BatchPlan, role: str, n: int = 24) -> str:
    return hashlib.sha1(f"{plan.id}:{role}".encode()).hexdigest()[:n]


# -- assembling objects in Go struct order ------------------------------------------------

# core/schemas/batch.go, BifrostBatchRetrieveResponse, in declaration order.
_RETRIEVE_ORDER = (
    "id",
    "object",
    "display_name",
    "endpoint",
    "input_file_id",
    "completion_window",
    "status",
    "request_counts",
    "metadata",
    "created_at",
    "expires_at",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "output_file_id",
    "error_file_id",
    "errors",
    "processing_status",
    "results_url",
    "archived_at",
    "operation_name",
    "done",
    "progress",
    "input_blob",
    "output_blob",
    "error_blob",
    "extra_fields",
)
# core/schemas/batch.go, BifrostBatchCancelResponse.
_CANCEL_ORDER = ("id", "object", "status", "request_counts", "cancelling_at", "cancelled_at", "extra_fields")
_ALWAYS = frozenset({"id", "status", "request_counts", "extra_fields"})  # no omitempty


def _emit(fields: dict[str, object], order: tuple[str, ...] = _RETRIEVE_ORDER) -> dict[str, object]:
    """The fields in struct order, minus what omitempty drops (None stands for a nil
    pointer; "", 0 and {} for empty values of non-pointer fields)."""
    unknown = set(fields) - set(order)
    if unknown:
        raise KeyError(f"not a field of the gateway's struct: {sorted(unknown)}")
    out: dict[str, object] = {}
    for key in order:
        if key not in fields:
            continue
        value = fields[key]
        if key not in _ALWAYS and (value is None or value == "" or value == {} or (key == "created_at" and value == 0)):
            continue
        out[key] = value
    return out


def counts(
    total: int,
    completed: int,
    failed: int,
    *,
    succeeded: int = 0,
    expired: int = 0,
    canceled: int = 0,
    pending: int = 0,
) -> dict[str, int]:
    """``BatchRequestCounts`` as encoded (core/schemas/batch.go): total, completed and failed
    always; succeeded, expired, canceled, pending (omitempty) only when non-zero."""
    body = {"total": total, "completed": completed, "failed": failed}
    for name, value in (("succeeded", succeeded), ("expired", expired), ("canceled", canceled), ("pending", pending)):
        if value:
            body[name] = value
    return body


ZERO_COUNTS = {"total": 0, "completed": 0, "failed": 0}


def item_extra_fields(latency: int) -> dict[str, object]:
    """A list item's own ``extra_fields``. At maximhq@0119287d the converters set only
    ``Latency`` on each item (openai/openai.go BatchRetrieve calls
    ``ToBifrostBatchRetrieveResponse(latency, ...)``; anthropic/batch.go likewise), and core
    stamps request_type/provider on the top-level response only, so an item shows
    ``request_type`` "" (no omitempty) and no provider (omitempty). Bedrock, Gemini and
    Vertex items never set ExtraFields at all: latency 0."""
    return {"request_type": "", "latency": latency, "chunk_index": 0}


def top_extra_fields(
    provider: str, request_type: str, latency: int, plan: BatchPlan | None = None
) -> dict[str, object]:
    """The top-level ``extra_fields``: the provider sets Latency, core's
    ``BifrostResponse.PopulateExtraFields`` (core/schemas/bifrost.go) sets RequestType,
    Provider and the model names; batch calls carry no model (the /v1/batches handlers in
    transports/bifrost-http/handlers/inference.go never set Model), so the omitempty model
    fields are absent. ``chunk_index`` is always 0 for a non-streaming answer."""
    fields: dict[str, object] = {"request_type": request_type, "provider": provider}
    style = (
        "legacy"
        if plan is not None and plan.legacy_model_fields
        else (plan.model_fields if plan is not None else "none")
    )
    if style == "new":
        fields.update(original_model_requested=plan.model, resolved_model_used=plan.model)  # type: ignore[union-attr]
    elif style == "legacy":  # older BifrostResponseExtraFields: model_requested/model_deployment
        fields.update(model_requested=plan.model, model_deployment=plan.model)  # type: ignore[union-attr]
    fields.update(latency=latency, chunk_index=0)
    return fields


def _native(plan: BatchPlan, state: BatchState, table: dict[str, str]) -> str:
    """The provider-native state: a plan's raw state while it applies, else the table's."""
    if plan.raw_status is not None and state.status in plan.raw_status_during:
        return plan.raw_status
    return table[state.status]


def _ended_at(state: BatchState) -> int | None:
    return max((state.times[k] for k in _END_TIMES if k in state.times), default=None)


# -- shared with the providers' own APIs (openai_api, anthropic_api) ------------------------
# The direct routes write their own wire shapes but must read a batch exactly as the gateway
# does: the same native status, end time, file ids and error summary.


def ended_at(state: BatchState) -> int | None:
    """When the batch ended (completed, failed, expired or cancelled), or None."""
    return _ended_at(state)


def openai_native_status(plan: BatchPlan, state: BatchState) -> str:
    """OpenAI's own status for the batch (a plan's raw status while it applies)."""
    return _native(plan, state, {s: s for s in _OPENAI_STATUSES})


def anthropic_processing_status(plan: BatchPlan, state: BatchState) -> str:
    """Anthropic's own ``processing_status`` for the batch: in_progress, canceling or ended."""
    return _native(plan, state, _ANTHROPIC_NATIVE)


def file_id(plan: BatchPlan, role: str) -> str:
    """The OpenAI file id of the batch's ``input``, ``output`` or ``errors`` file."""
    return "file-" + _digest(plan, role)


def standing_errors(plan: BatchPlan, state: BatchState) -> list[dict[str, object]]:
    """The batch's error summary entries as they stand at ``state``."""
    return _errors(plan, state)


# -- status mappings (each a transcription of the provider's Go function) ------------------

_OPENAI_STATUSES = (
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
)


def openai_status(native: str) -> str:
    # core/providers/openai/batch.go ToBifrostBatchStatus: the eight OpenAI statuses map 1:1,
    # `default: return schemas.BatchStatus(status)` passes anything else through.
    return native


def anthropic_status(processing_status: str) -> str:
    # core/providers/anthropic/batch.go ToBifrostBatchStatus: "in_progress" -> in_progress,
    # "canceling" -> cancelling, "ended" -> ended (BatchStatusEnded), default passes through.
    return {"in_progress": "in_progress", "canceling": "cancelling", "ended": "ended"}.get(
        processing_status, processing_status
    )


def bedrock_status(native: str) -> str:
    # core/providers/bedrock/batch.go@3b9122c7 ToBifrostBatchStatus.
    return {
        "Submitted": "validating",
        "Validating": "validating",
        "Scheduled": "validating",
        "InProgress": "in_progress",
        "Completed": "completed",
        "Failed": "failed",
        "PartiallyCompleted": "failed",  # PartiallyCompleted -> failed
        "Stopping": "cancelling",
        "Stopped": "cancelled",
        "Expired": "expired",
    }.get(native, native)  # default: schemas.BatchStatus(status)


GEMINI_DONE = frozenset({"BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"})


def gemini_status(native: str) -> str:
    # core/providers/gemini/batch.go@08305518 ToBifrostBatchStatus: PENDING and RUNNING are
    # both in_progress (never validating); unknown states pass through raw.
    return {
        "BATCH_STATE_PENDING": "in_progress",
        "BATCH_STATE_RUNNING": "in_progress",
        "BATCH_STATE_SUCCEEDED": "completed",
        "BATCH_STATE_FAILED": "failed",
        "BATCH_STATE_CANCELLING": "cancelling",
        "BATCH_STATE_CANCELLED": "cancelled",
        "BATCH_STATE_EXPIRED": "expired",
    }.get(native, native)


def vertex_status(native: str) -> str:
    # core/providers/vertex/batch.go vertexJobStateToBatchStatus: QUEUED/PENDING ->
    # validating, RUNNING/UPDATING -> in_progress, SUCCEEDED/PARTIALLY_SUCCEEDED -> completed,
    # unknown states (JOB_STATE_PAUSED, JOB_STATE_UNSPECIFIED) pass through raw.
    return {
        "JOB_STATE_QUEUED": "validating",
        "JOB_STATE_PENDING": "validating",
        "JOB_STATE_RUNNING": "in_progress",
        "JOB_STATE_UPDATING": "in_progress",
        "JOB_STATE_SUCCEEDED": "completed",
        "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
        "JOB_STATE_FAILED": "failed",
        "JOB_STATE_CANCELLING": "cancelling",
        "JOB_STATE_CANCELLED": "cancelled",
        "JOB_STATE_EXPIRED": "expired",
    }.get(native, native)


# -- per family: the batch object in a list and on its own -----------------------------------


def batch_object(plan: BatchPlan, state: BatchState, *, listing: bool = False) -> dict[str, object]:
    """The batch as the gateway sends it, in a list (``listing``) or on its own, without
    ``extra_fields`` (added by the callers, as the two differ)."""
    writer = {"openai": _openai, "anthropic": _anthropic, "bedrock": _bedrock, "gemini": _gemini, "vertex": _vertex}[
        family(plan.provider)
    ]
    return writer(plan, state, listing)


def _errors(plan: BatchPlan, state: BatchState) -> list[dict[str, object]]:
    # A validation error exists only once validation has failed; any other plan's errors
    # are a standing error summary (the hostile batches carry one from the start).
    if not plan.errors or (plan.outcome == "failed" and state.status != "failed"):
        return []
    return [dict(entry) for entry in plan.errors]


def _openai(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # core/providers/openai/batch.go ToBifrostBatchRetrieveResponse copies the OpenAI batch
    # object field by field; list items go through the same converter (openai/openai.go
    # BatchList), so list and retrieve agree. OpenAI reports zero counts until the input
    # file is validated; completed = requests that succeeded.
    status = openai_status(_native(plan, state, {s: s for s in _OPENAI_STATUSES}))
    finished = state.status in ("completed", "expired", "cancelled")
    errors = _errors(plan, state)
    t = state.times
    return _emit(
        {
            "id": plan.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": "file-" + _digest(plan, "input"),
            "completion_window": "24h",
            "status": status,
            # Only Total/Completed/Failed are copied (openai/batch.go).
            "request_counts": counts(plan.total if state.validated else 0, state.succeeded, state.errored),
            "metadata": plan.metadata,
            "created_at": plan.created_at,
            "expires_at": plan.expires_at,
            "in_progress_at": t.get("in_progress_at"),
            "finalizing_at": t.get("finalizing_at"),
            "completed_at": t.get("completed_at"),
            "failed_at": t.get("failed_at"),
            "expired_at": t.get("expired_at"),
            "cancelling_at": t.get("cancelling_at"),
            "cancelled_at": t.get("cancelled_at"),
            "output_file_id": "file-" + _digest(plan, "output") if finished and state.succeeded else None,
            "error_file_id": "file-" + _digest(plan, "errors") if finished and state.errored else None,
            "errors": {"object": "list", "data": errors} if errors else None,
        }
    )


_ANTHROPIC_NATIVE = {
    "validating": "in_progress",
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "cancelling": "canceling",
    "completed": "ended",
    "failed": "ended",
    "expired": "ended",
    "cancelled": "ended",
}


def _anthropic(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # core/providers/anthropic/batch.go ToBifrostBatchRetrieveResponse (list items use the
    # same converter, anthropic/anthropic.go BatchList).
    processing = anthropic_processing_status(plan, state)
    ended = processing == "ended"
    if ended:
        # Counts: Total = processing+succeeded+errored+canceled+expired, Completed =
        # Succeeded, Failed = Errored, the rest ride along (omitempty) when non-zero.
        request_counts = counts(
            state.succeeded + state.errored + state.canceled + state.expired,
            state.succeeded,
            state.errored,
            succeeded=state.succeeded,
            expired=state.expired,
            canceled=state.canceled,
        )
    else:
        # Anthropic's counts do not move while a batch runs ("Requests start as processing
        # and move to one of the other statuses only once processing of the entire batch
        # ends", Anthropic API reference): processing = N, so pending = N.
        request_counts = counts(plan.total, 0, 0, pending=plan.total)
    t = state.times
    return _emit(
        {
            # ToBifrostObjectType("message_batch") = "batch".
            "id": plan.id,
            "object": "batch",
            "status": anthropic_status(processing),
            "request_counts": request_counts,
            # No metadata and no errors: the converter maps neither.
            "created_at": plan.created_at,
            "expires_at": plan.expires_at,  # set when > 0
            "completed_at": _ended_at(state) if ended else None,  # CompletedAt = ended_at, any ending
            "cancelling_at": t.get("cancelling_at"),  # CancellingAt = cancel_initiated_at
            "processing_status": processing,  # ProcessingStatus: the raw value
            "results_url": (f"https://api.anthropic.com/v1/messages/batches/{plan.id}/results" if ended else None),
            "archived_at": t.get("archived_at"),
        }
    )


_BEDROCK_NATIVE = {
    "validating": "Validating",
    "in_progress": "InProgress",
    "finalizing": "InProgress",
    "failed": "Failed",
    "cancelling": "Stopping",
    "cancelled": "Stopped",
    "expired": "Expired",
}


def _bedrock_job_name(plan: BatchPlan) -> str:
    return plan.metadata.get("job") or f"batch-{plan.created_at}"


def _bedrock(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    native = _native(
        plan, state, {**_BEDROCK_NATIVE, "completed": "PartiallyCompleted" if state.errored else "Completed"}
    )
    status = bedrock_status(native)
    # metadata carries job_name and model_id only (bedrock.go BatchList/BatchRetrieve):
    # the plan's own metadata is not a Bedrock concept.
    metadata = {"job_name": _bedrock_job_name(plan), "model_id": plan.model}
    if listing:
        # bedrock.go@0119287d BatchList sets only ID (job ARN), Object, Status, CreatedAt
        # (submitTime) and Metadata: no counts, files, expiry or end time.
        return _emit(
            {
                "id": plan.id,
                "object": "batch",
                "status": status,
                "request_counts": dict(ZERO_COUNTS),
                "metadata": metadata,
                "created_at": plan.created_at,
            }
        )
    ended = state.finished
    if ended and state.validated:
        # bedrock.go fetchBatchManifest reads {output}/manifest.json.out, present once the
        # job has ended: Total = totalRecordCount, Completed = processedRecordCount -
        # errorRecordCount, Failed = errorRecordCount.
        request_counts = counts(plan.total, state.processed - state.errored, state.errored)
    else:
        # No manifest yet (non-200 -> nil): the counts stay zero, also for a job that failed
        # before writing any output.
        request_counts = dict(ZERO_COUNTS)
    errors = _errors(plan, state)
    bucket = "s3://sim-bedrock-batch"
    return _emit(
        {
            "id": plan.id,
            "object": "batch",
            "input_file_id": f"{bucket}/input/{_digest(plan, 'input', 12)}.jsonl",  # S3InputDataConfig.S3Uri
            "status": status,
            "request_counts": request_counts,
            "metadata": metadata,
            "created_at": plan.created_at,
            "expires_at": plan.expires_at,  # JobExpirationTime
            "completed_at": _ended_at(state) if ended else None,  # EndTime, for every ending
            "output_file_id": f"{bucket}/output/",  # S3OutputDataConfig.S3Uri, always set
            # The job's Message becomes one BatchError{Message} in a list.
            "errors": {"object": "list", "data": [{"message": errors[0].get("message", "")}]} if errors else None,
        }
    )


_GEMINI_NATIVE = {
    "validating": "BATCH_STATE_PENDING",
    "in_progress": "BATCH_STATE_RUNNING",
    "finalizing": "BATCH_STATE_RUNNING",
    "completed": "BATCH_STATE_SUCCEEDED",
    "failed": "BATCH_STATE_FAILED",
    "cancelling": "BATCH_STATE_CANCELLING",
    "cancelled": "BATCH_STATE_CANCELLED",
    "expired": "BATCH_STATE_EXPIRED",
}


def _gemini(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    native = _native(plan, state, _GEMINI_NATIVE)
    status = gemini_status(native)
    if listing:
        # gemini.go@0119287d batchListByKey sets ID (batches/...), Object, Status, CreatedAt
        # and OperationName only: zero counts, no done, no display name.
        return _emit(
            {
                "id": plan.id,
                "object": "batch",
                "status": status,
                "request_counts": dict(ZERO_COUNTS),
                "created_at": plan.created_at,
                "operation_name": plan.id,
            }
        )
    if state.status == "failed" and not state.validated:
        request_count = successful = pending = 0  # failed before any batchStats were kept
    else:
        request_count, successful = plan.total, state.succeeded
        pending = plan.total - state.processed
    # gemini.go batchRetrieveByKey: completed = requestCount - pendingRequestCount (requests
    # processed, succeeded or not), failed = completed - successfulRequestCount; Succeeded and
    # Pending ride along (omitempty). There is no failed count in Gemini's batchStats.
    completed = request_count - pending
    output = (
        f"files/batch-{_digest(plan, 'responses', 12)}"
        if native == "BATCH_STATE_SUCCEEDED" and not plan.inline_requests
        else None
    )
    return _emit(
        {
            "id": plan.id,
            "object": "batch",
            "status": status,
            "request_counts": counts(
                request_count, completed, completed - successful, succeeded=successful, pending=pending
            ),
            "created_at": plan.created_at,  # the only timestamp mapped
            "output_file_id": output,  # responsesFile, newest gemini.go only
            "operation_name": plan.id,
            "done": native in GEMINI_DONE,  # *bool: false is sent too
        }
    )


_VERTEX_NATIVE = {
    "validating": "JOB_STATE_QUEUED",
    "in_progress": "JOB_STATE_RUNNING",
    "finalizing": "JOB_STATE_RUNNING",
    "failed": "JOB_STATE_FAILED",
    "cancelling": "JOB_STATE_CANCELLING",
    "cancelled": "JOB_STATE_CANCELLED",
    "expired": "JOB_STATE_EXPIRED",
}


def _vertex(plan: BatchPlan, state: BatchState, listing: bool) -> dict[str, object]:
    # core/providers/vertex/batch.go vertexBatchJobToBifrost: one converter for list items
    # and retrieve alike, so list items carry counts, files and timestamps.
    native = _native(
        plan,
        state,
        {**_VERTEX_NATIVE, "completed": "JOB_STATE_PARTIALLY_SUCCEEDED" if state.errored else "JOB_STATE_SUCCEEDED"},
    )
    status = vertex_status(native)
    end = _ended_at(state) if state.finished else None
    if state.validated:
        # completionStats: Total = successful + failed + incomplete, Completed = successful,
        # Failed = failed. They move while the job runs.
        request_counts = counts(plan.total, state.succeeded, state.errored)
    else:
        request_counts = dict(ZERO_COUNTS)  # no completionStats yet (or ever)
    errors = _errors(plan, state)
    bucket = "gs://sim-vertex-batch"
    return _emit(
        {
            "id": plan.id,
            "object": "batch",
            "display_name": plan.metadata.get("job") or f"batch-{plan.id[-6:]}",  # DisplayName
            "input_file_id": f"{bucket}/input/{_digest(plan, 'input', 12)}.jsonl",  # GcsSource.Uris[0]
            "status": status,
            "request_counts": request_counts,
            "created_at": plan.created_at,
            "in_progress_at": state.times.get("in_progress_at"),  # StartTime
            # EndTime lands in the field of the mapped status, and nowhere for other statuses.
            "completed_at": end if status == "completed" else None,
            "failed_at": end if status == "failed" else None,
            "expired_at": end if status == "expired" else None,
            "cancelled_at": end if status == "cancelled" else None,
            # OutputInfo.GcsOutputDirectory, once the job has written output.
            "output_file_id": (
                f"{bucket}/output/prediction-{_digest(plan, 'output', 12)}"
                if state.finished and state.processed
                else None
            ),
            # job.Error -> BatchErrors{Data: [{Code: "%d", Message}]}, with no Object.
            "errors": {"data": [{"code": "3", "message": errors[0].get("message", "")}]} if errors else None,
        }
    )


# -- responses -----------------------------------------------------------------------------


def list_item(plan: BatchPlan, state: BatchState, list_latency: int) -> dict[str, object]:
    """One entry of ``data`` in a list answer, with its own ``extra_fields``."""
    latency = list_latency if family(plan.provider) in ("openai", "anthropic") else 0
    return {**batch_object(plan, state, listing=True), "extra_fields": item_extra_fields(latency)}


def retrieve_response(plan: BatchPlan, state: BatchState, now: float) -> dict[str, object]:
    latency = latency_ms(f"{BATCH_RETRIEVE}:{plan.id}", now)
    return {**batch_object(plan, state), "extra_fields": top_extra_fields(plan.provider, BATCH_RETRIEVE, latency, plan)}


def cancel_response(plan: BatchPlan, state: BatchState, now: float, requested_id: str) -> dict[str, object]:
    """What the gateway's cancel answers: a cut-down BifrostBatchCancelResponse, built
    differently by every provider."""
    fam = family(plan.provider)
    extra = top_extra_fields(plan.provider, BATCH_CANCEL, latency_ms(f"{BATCH_CANCEL}:{plan.id}", now), plan)
    if fam == "openai":
        # openai/openai.go BatchCancel: ID, Object, Status, CancellingAt, CancelledAt and
        # Total/Completed/Failed from OpenAI's answer; nothing else.
        full = batch_object(plan, state)
        fields: dict[str, object] = {
            k: full[k]
            for k in ("id", "object", "status", "request_counts", "cancelling_at", "cancelled_at")
            if k in full
        }
    elif fam == "anthropic":
        # anthropic/anthropic.go BatchCancel: Object is the raw anthropicResp.Type
        # ("message_batch", not converted), Status from processing_status, CancellingAt from
        # cancel_initiated_at, and only Total/Completed/Failed of the counts (no pending).
        full = batch_object(plan, state)
        c = full["request_counts"]
        fields = {
            "id": plan.id,
            "object": "message_batch",
            "status": full["status"],
            "request_counts": {k: c[k] for k in ("total", "completed", "failed")},  # type: ignore[index]
            "cancelling_at": state.times.get("cancelling_at"),
        }
    elif fam == "bedrock":
        # bedrock.go BatchCancel: POST .../stop, then a re-retrieve of which only ID, Object
        # and Status are copied: zero counts, no cancelling_at/cancelled_at.
        fields = {
            "id": plan.id,
            "object": "batch",
            "status": batch_object(plan, state)["status"],
            "request_counts": dict(ZERO_COUNTS),
        }
    else:
        # gemini.go / vertex.go batchCancelByKey: the requested id echoed, always
        # "cancelling", CancellingAt = the gateway's clock at the call, zero counts.
        fields = {
            "id": requested_id,
            "object": "batch",
            "status": "cancelling",
            "request_counts": dict(ZERO_COUNTS),
            "cancelling_at": int(now),
        }
    return _emit({**fields, "extra_fields": extra}, _CANCEL_ORDER)


def list_response(
    provider: str, items: list[dict[str, object]], has_more: bool, next_cursor: str | None, latency: int
) -> dict[str, object]:
    """BifrostBatchListResponse (core/schemas/batch.go): first_id/last_id exist in the
    struct but no provider sets them (openai.go, anthropic.go, bedrock.go, gemini.go and
    vertex.go build Object, Data, HasMore and NextCursor only), has_more is omitempty (absent
    when false), next_cursor is set only when BuildNextCursor returns one."""
    body: dict[str, object] = {"object": "list", "data": items}
    if has_more:
        body["has_more"] = True
    if next_cursor:
        body["next_cursor"] = next_cursor
    body["extra_fields"] = top_extra_fields(provider, BATCH_LIST, latency)
    return body


# -- paging cursors ------------------------------------------------------------------------


class CursorError(ValueError):
    """An ``after`` the gateway cannot decode; the message is the Go error's text."""


_B64_URL = set(string.ascii_letters + string.digits + "-_")


def encode_cursor(key_index: int, native: str) -> str:
    """core/schemas/pagination.go EncodeSerialCursor: base64.URLEncoding (URL alphabet,
    ``=`` padding kept) of json.Marshal(SerialCursor{v: 1, i: key index, c: native cursor})."""
    data = json.dumps({"v": 1, "i": key_index, "c": native}, ensure_ascii=False, separators=(",", ":"))
    # json.Marshal escapes <, > and & for HTML safety.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return base64.urlsafe_b64encode(data.encode()).decode("ascii")


def decode_cursor(encoded: str) -> tuple[int, str]:
    """core/schemas/pagination.go DecodeSerialCursor: (key index, native cursor), or
    CursorError with the text of the Go error."""
    for offset, ch in enumerate(encoded):
        if ch not in _B64_URL and ch != "=":
            raise CursorError(f"failed to decode cursor: illegal base64 data at input byte {offset}")
    try:
        raw = base64.b64decode(encoded.translate(str.maketrans("-_", "+/")), validate=True)
    except (binascii.Error, ValueError):
        raise CursorError(
            f"failed to decode cursor: illegal base64 data at input byte {max(len(encoded) - 1, 0)}"
        ) from None
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CursorError("failed to unmarshal cursor: invalid character looking for beginning of value") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()):
            raise CursorError("failed to unmarshal cursor: unexpected end of JSON input") from None
        raise CursorError(
            f"failed to unmarshal cursor: invalid character {exc.doc[exc.pos]!r} looking for beginning of value"
        ) from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        raise CursorError(
            f"failed to unmarshal cursor: json: cannot unmarshal {kind} into Go value of type schemas.SerialCursor"
        )
    fields = {"v": 0, "i": 0, "c": ""}
    for name, want in (("v", int), ("i", int), ("c", str)):
        if name not in value or value[name] is None:
            continue
        got = value[name]
        if type(got) is not want:
            kind = {str: "string", bool: "bool", list: "array", dict: "object"}.get(type(got), "number")
            raise CursorError(
                f"failed to unmarshal cursor: json: cannot unmarshal {kind} into Go "
                f"struct field SerialCursor.{name} of type {want.__name__.replace('str', 'string')}"
            )
        fields[name] = got
    if fields["v"] != 1:
        raise CursorError(f"unsupported cursor version: {fields['v']}")
    return int(fields["i"]), str(fields["c"])  # type: ignore[call-overload]  # checked above


def native_cursor(provider: str, batch_id: str) -> str:
    """The cursor the provider itself returns after ``batch_id``: OpenAI and Anthropic page
    by the last batch id (openai.go/anthropic.go BatchList: ``lastBatchID = batch.ID``);
    Bedrock's nextToken and Gemini's/Vertex's nextPageToken are opaque strings."""
    if family(provider) in ("openai", "anthropic"):
        return batch_id
    digest = hashlib.sha1(f"{family(provider)}:page-after:{batch_id}".encode()).digest()[:15]
    return base64.urlsafe_b64encode(digest).decode("ascii")


# -- errors --------------------------------------------------------------------------------


def bifrost_error(
    message: str,
    *,
    status_code: int | None = None,
    is_bifrost: bool = False,
    error_type: str | None = None,
    code: str | None = None,
    cause: str | None = None,
    provider: str | None = None,
    request_type: str | None = None,
    raw_response: object = None,
    top_type: str | None = None,
) -> dict[str, object]:
    """A BifrostError as the gateway encodes it (core/schemas/bifrost.go): type
    (omitempty), is_bifrost_error, status_code (omitempty), error, extra_fields (a
    non-pointer struct, so ``{}`` when empty). ErrorField.MarshalJSON writes the Go error
    (the cause) first as ``error.error``, then type, code (omitempty), message.
    BifrostErrorExtraFields: provider, request_type, raw_response, all omitempty."""
    body: dict[str, object] = {}
    if top_type:
        body["type"] = top_type
    body["is_bifrost_error"] = is_bifrost
    if status_code is not None:
        body["status_code"] = status_code
    error: dict[str, object] = {}
    if cause is not None:
        error["error"] = cause
    if error_type:
        error["type"] = error_type
    if code:
        error["code"] = code
    error["message"] = message
    body["error"] = error
    extra: dict[str, object] = {}
    if provider:
        extra["provider"] = provider
    if request_type:
        extra["request_type"] = request_type
    if raw_response is not None:
        extra["raw_response"] = raw_response
    body["extra_fields"] = extra
    return body


def http_status(body: dict[str, object]) -> int:
    """transports/bifrost-http/handlers/utils.go SendBifrostError: StatusCode when set,
    else 400 for !IsBifrostError, else 500."""
    status = body.get("status_code")
    if isinstance(status, int):
        return status
    return 500 if body.get("is_bifrost_error") else 400


def missing_provider_error() -> dict[str, object]:
    # inference.go batchList/batchRetrieve/batchCancel: SendError(ctx, 400, "provider query
    # parameter is required"); SendError sets StatusCode and IsBifrostError false.
    return bifrost_error("provider query parameter is required", status_code=400)


def no_keys_error(provider: str, request_type: str) -> dict[str, object]:
    # core/bifrost.go getKeysForBatchAndFileOps: fmt.Errorf("no keys found for provider: %v"),
    # wrapped with IsBifrostError false, Message = err.Error() and Error = err (the cause is
    # the same text), extra_fields provider and request_type; no status, so 400.
    message = f"no keys found for provider: {provider}"
    return bifrost_error(message, cause=message, provider=provider, request_type=request_type)


# Providers Bifrost has whose batch calls all return NewUnsupportedOperationError
# (core/providers/{mistral,cohere,groq,ollama,sgl,perplexity,elevenlabs,cerebras,parasail,
# openrouter}/batch.go; huggingface, nebius, xai, replicate, vllm, runway, fireworks in their
# <provider>.go): with keys configured for chat, a batch call answers unsupported_operation.
NO_BATCH_API = frozenset(
    {
        "mistral",
        "cohere",
        "groq",
        "ollama",
        "sgl",
        "perplexity",
        "elevenlabs",
        "cerebras",
        "parasail",
        "openrouter",
        "huggingface",
        "nebius",
        "xai",
        "replicate",
        "vllm",
        "runway",
        "fireworks",
    }
)


def unsupported_error(provider: str, request_type: str, *, legacy: bool = False) -> dict[str, object]:
    # core/providers/utils/utils.go NewUnsupportedOperationError: IsBifrostError false, no
    # StatusCode (so 400), Message "%s is not supported by %s provider", Code
    # "unsupported_operation" (older gateways: the message only, no Code).
    return bifrost_error(
        f"{request_type} is not supported by {provider} provider",
        code=None if legacy else "unsupported_operation",
        provider=provider,
        request_type=request_type,
    )


def invalid_cursor_error(provider: str, cause: str) -> dict[str, object]:
    # openai.go (and the others) BatchList: NewSerialListHelper error ->
    # NewBifrostOperationError("invalid pagination cursor", err): IsBifrostError true, no
    # status, so 500, with the decode error as error.error.
    return bifrost_error(
        "invalid pagination cursor", is_bifrost=True, cause=cause, provider=provider, request_type=BATCH_LIST
    )


# What each provider's API answers for an HTTP status, as (type, code, message).
_UPSTREAM_4XX = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to perform this request."),
    404: ("invalid_request_error", None, "Not found."),
    408: ("timeout", None, "Request timed out."),
    409: ("invalid_request_error", None, "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    499: ("request_cancelled", None, "Client closed request."),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
}
_AWS_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    429: "ThrottlingException",
}


def upstream_error(
    provider: str, request_type: str, status: int, *, message: str | None = None, error_type: str | None = None
) -> dict[str, object]:
    """An error the provider's API answered, passed up by the gateway.

    core/providers/utils/utils.go HandleProviderAPIError sets StatusCode to the upstream
    status, IsBifrostError false and keeps the upstream body as raw_response; the provider's
    parser then copies type/code/message (openai/errors.go ParseOpenAIError: Type, Code,
    Message, Param; anthropic/batch.go ParseAnthropicError: Type, Message).
    """
    fam = family(provider)
    o_type, o_code, o_message = _UPSTREAM_4XX.get(status, ("invalid_request_error", None, f"HTTP {status}"))
    message = message or o_message
    code: str | None = None
    raw: dict[str, object]
    if fam == "openai":
        kind, code = error_type or o_type, o_code
        raw = {"error": {"code": code, "message": message, "param": None, "type": kind}}
    elif fam == "anthropic":
        kind = error_type or _ANTHROPIC_TYPES.get(status, "api_error")
        raw = {"error": {"message": message, "type": kind}, "type": "error"}
    elif fam == "bedrock":
        kind = error_type or _AWS_TYPES.get(status, "ValidationException")
        raw = {"message": message}
    else:
        kind = error_type or _GOOGLE_STATUS.get(status, "FAILED_PRECONDITION")
        raw = {"error": {"code": status, "message": message, "status": kind}}
    return bifrost_error(
        message,
        status_code=status,
        error_type=kind,
        code=code,
        provider=provider,
        request_type=request_type,
        raw_response=raw,
    )


def server_error(provider: str, request_type: str, status: int) -> dict[str, object]:
    """A 5xx as the gateway produces it; every one carries its Go error as ``error.error``.

    - 502: utils.go NewBifrostUpstreamConnectionError(ErrProviderNetworkError, err):
      IsBifrostError false, StatusCode 502, Type "provider_connection_failed".
    - 504: utils.go NewBifrostTimeoutError: IsBifrostError true, StatusCode 504, Type
      "request_timed_out" (schemas.RequestTimedOut).
    - others: the provider answered an HTML error page; HandleProviderAPIError keeps the
      status and returns Message ErrProviderResponseHTML ("HTML response received from
      provider") with Error = the body.
    """
    if status == 502:
        return bifrost_error(
            "network error occurred while connecting to provider API (DNS lookup, connection refused, etc.)",
            status_code=502,
            error_type="provider_connection_failed",
            cause="dial tcp 203.0.113.10:443: connect: connection refused",
            provider=provider,
            request_type=request_type,
        )
    if status == 504:
        return bifrost_error(
            "request timed out while waiting for the provider",
            status_code=504,
            is_bifrost=True,
            error_type="request_timed_out",
            cause="timeout",
            provider=provider,
            request_type=request_type,
        )
    page = (
        f"<html><head><title>{status} Service Error</title></head><body><h1>{status} Service Error</h1></body></html>"
    )
    return bifrost_error(
        "HTML response received from provider",
        status_code=status,
        cause=page,
        provider=provider,
        request_type=request_type,
        raw_response=page,
    )


def status_fault_error(provider: str, request_type: str, status: int) -> dict[str, object]:
    """The body for a ``status`` fault: a 5xx the gateway makes, or a 4xx passed up."""
    if status >= 500:
        return server_error(provider, request_type, status)
    return upstream_error(provider, request_type, status)


def not_found_error(provider: str, request_type: str, batch_id: str) -> dict[str, object]:
    """The provider's 404 for an unknown batch (tried with every key; the last error is
    returned: openai.go BatchRetrieve/BatchCancel ``lastErr = ParseOpenAIError(resp)``)."""
    fam = family(provider)
    message = {
        "openai": f"No batch found with id '{batch_id}'.",
        "anthropic": f"No batch found with id '{batch_id}'.",
        "bedrock": f"Could not find model invocation job {batch_id}.",
    }.get(fam, f"Requested entity was not found: {batch_id}")
    return upstream_error(provider, request_type, 404, message=message)


def cancel_refusal(plan: BatchPlan, state: BatchState) -> dict[str, object]:
    """How each provider refuses to cancel a batch that has already finished."""
    shown = str(batch_object(plan, state)["status"])
    status, kind, message = {
        "openai": (400, "invalid_request_error", f"Cannot cancel a batch with status '{shown}'."),
        "anthropic": (409, "invalid_request_error", f"Batch {plan.id} has already ended and cannot be canceled."),
        "bedrock": (400, "ValidationException", f"The job is in a terminal state ({shown}) and cannot be stopped."),
        "gemini": (400, "FAILED_PRECONDITION", f"Batch {plan.id} is already in a terminal state ({shown})."),
        "vertex": (400, "FAILED_PRECONDITION", f"Cannot cancel a job in a terminal state ({shown})."),
    }[family(plan.provider)]
    return upstream_error(plan.provider, BATCH_CANCEL, status, message=message, error_type=kind)


# -- the simulator's own errors (/_sim/, auth, unknown paths) ------------------------------

_STATUS_TYPES = {
    400: ("invalid_request_error", "invalid request"),
    401: ("virtual_key_required", "virtual key is required"),
    403: ("virtual_key_not_found", "virtual key not found"),
    404: ("not_found", "not found"),
}


def error_body(
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
    provider: str | None = None,
    request_type: str | None = None,
    bifrost: bool = True,
) -> dict[str, object]:
    """Errors the simulated gateway raises itself, outside any provider: virtual-key auth
    (the governance layer), unknown paths and the /_sim/ control endpoints. Shaped as a
    BifrostError with a status code and a top-level type."""
    default_type, default_message = _STATUS_TYPES.get(status, ("api_error", "request failed"))
    kind = error_type or default_type
    return bifrost_error(
        message or default_message,
        status_code=status,
        is_bifrost=bifrost,
        error_type=kind,
        code=str(status),
        provider=provider,
        request_type=request_type,
        top_type=kind,
    )
