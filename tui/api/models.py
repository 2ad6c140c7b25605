"""Pydantic models of the Bifrost batch API.

The gateway omits empty fields instead of sending null, passes providers' own statuses
through, and differs by provider in which counts it fills in. These models accept all of
that: every optional field has a default, unknown fields are ignored, and a value of the
wrong type in a place that is only informative (a count, a timestamp, a metadata value)
becomes "unknown" instead of failing the whole batch. Only a missing/non-string ``id`` or
``status`` makes a batch unreadable.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from tui.api.providers import ProviderTraits, traits

# Live: the gateway may still change the batch. Unknown statuses count as live, because
# treating an unknown state as finished would stop polling a batch that may still run.
LIVE_STATUSES = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
# core/schemas/batch.go: BatchStatusEnded is Anthropic's; BatchStatusDeleted (Gemini, Vertex)
# arrives from their delete call, and a deleted batch never runs again.
FINISHED_STATUSES = frozenset({"completed", "failed", "expired", "cancelled", "canceled", "ended", "deleted"})
KNOWN_STATUSES = LIVE_STATUSES | FINISHED_STATUSES


def status_is_finished(status: str) -> bool:
    """True for the statuses from which a batch never moves again."""
    return status.strip().lower() in FINISHED_STATUSES


def _lenient_int(value: Any) -> int | None:
    """A count or timestamp as an int, or None when the gateway sent something else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
            return int(number) if math.isfinite(number) else None
    return None


MAX_COUNT = 10**15
"""Larger request counts are nonsense (and overflow float arithmetic): read as unknown."""


def _lenient_count(value: Any) -> int | None:
    number = _lenient_int(value)
    return number if number is None or 0 <= number <= MAX_COUNT else None


def _lenient_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None}


def _lenient_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


LenientInt = Annotated[int | None, BeforeValidator(_lenient_int)]
LenientCount = Annotated[int | None, BeforeValidator(_lenient_count)]
LenientStr = Annotated[str | None, BeforeValidator(_lenient_str)]
StringMap = Annotated[dict[str, str], BeforeValidator(_string_map)]
LenientBool = Annotated[bool | None, BeforeValidator(_lenient_bool)]


def _set_private(model: BaseModel, **values: Any) -> None:
    """Set private attributes straight in ``__pydantic_private__``: pydantic's __setattr__
    costs ~2.5 µs an attribute, and every batch of every page read sets three or four."""
    private = model.__pydantic_private__
    if private is None:
        for name, value in values.items():
            setattr(model, name, value)
    else:
        private.update(values)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestCounts(_Lenient):
    """Request counts as the gateway sent them, read as the batch's provider means them.

    ``None`` means the gateway did not send the field (or sent garbage). The derived
    properties fill in what can be derived and stay ``None`` when it cannot. What
    ``completed`` means depends on the provider (``tui.api.providers``): the Batch that
    owns these counts tells them with :meth:`read_as`.
    """

    total: LenientCount = None
    completed: LenientCount = None
    failed: LenientCount = None
    succeeded_sent: LenientCount = Field(default=None, alias="succeeded")
    expired: LenientCount = None
    canceled: LenientCount = None
    pending_sent: LenientCount = Field(default=None, alias="pending")

    _closed: bool = PrivateAttr(default=False)
    """Set for finished batches (never from the wire): what did not run is no longer pending."""
    _completed_counts_failures: bool = PrivateAttr(default=False)
    """Gemini: ``completed`` is every processed request, failures included."""
    _at_end: bool = PrivateAttr(default=False)
    """Set for a live batch of a provider that reports counts only when it ends."""

    def read_as(self, provider: ProviderTraits, *, live: bool) -> RequestCounts:
        """These counts with the provider's meaning attached. In place: a Batch's counts are
        its own (parsed with it), and every poll parses thousands of them."""
        _set_private(
            self,
            _completed_counts_failures=provider.completed_counts_failures,
            _at_end=live and not provider.counts_while_running,
        )
        return self

    def _flag(self, name: str) -> bool:
        # Private attributes live in __pydantic_private__; reading them as self._x goes
        # through pydantic's __getattr__, ~1 µs each, and these are read for every live
        # batch at every poll (signals, attention): read the dict directly.
        private = self.__pydantic_private__
        return bool(private.get(name, False)) if private else False

    @property
    def known(self) -> bool:
        """False when the gateway carries no counts (Bedrock and Gemini list items: all zero)."""
        # Asked for every batch at every poll and redraw: no tuple, no generator.
        return bool(
            self.total
            or self.completed
            or self.failed
            or self.succeeded_sent
            or self.expired
            or self.canceled
            or self.pending_sent
        )

    @property
    def at_end(self) -> bool:
        """True while the batch runs on a provider that reports counts only at its end:
        the counts on hand say nothing about progress, rate or stalls."""
        return self._flag("_at_end")

    @property
    def total_known(self) -> bool:
        """A total of 0 beside other counts means the total is unknown."""
        return self.known and bool(self.total)

    @property
    def succeeded(self) -> int | None:
        if not self.known:
            return None
        if self.succeeded_sent is not None:
            return self.succeeded_sent
        if self._flag("_completed_counts_failures"):
            # Gemini omits succeeded when it is 0: completed 50, failed 50 means none succeeded.
            return max((self.completed or 0) - (self.failed or 0), 0)
        # OpenAI-backed batches have no 'succeeded': their 'completed' counts the successes.
        return self.completed or 0

    @property
    def failed_count(self) -> int | None:
        return (self.failed or 0) if self.known else None

    @property
    def canceled_count(self) -> int | None:
        return (self.canceled or 0) if self.known else None

    @property
    def expired_count(self) -> int | None:
        return (self.expired or 0) if self.known else None

    @property
    def done(self) -> int | None:
        """Requests that will not run any more: succeeded, failed, canceled, expired."""
        if not self.known:
            return None
        processed = (
            (self.completed or 0)
            if self._flag("_completed_counts_failures")
            else ((self.completed or 0) + (self.failed or 0))
        )
        return processed + (self.canceled or 0) + (self.expired or 0)

    @property
    def pending(self) -> int | None:
        """Requests still to run; None when the counts (or the total) are unknown."""
        if not self.known:
            return None
        if self._flag("_closed"):
            return 0
        if self.pending_sent is not None:
            return self.pending_sent
        if not self.total_known:
            return None
        done = self.done or 0
        return max((self.total or 0) - done, 0)

    @property
    def progress(self) -> float | None:
        """Fraction of requests that will not run any more, 0..1, or None when unknown
        (including while a counts-at-end provider's batch runs: its 0 % means nothing)."""
        if not self.total_known or self._flag("_at_end"):
            return None
        return min((self.done or 0) / (self.total or 1), 1.0)

    def settled(self, outcome: str) -> RequestCounts:
        """The counts of a batch that finished as ``outcome``: nothing is pending any more.

        OpenAI-backed batches report only total/completed/failed, and Gemini's pending of a
        cancelled batch stays where it stopped, so the requests an expired or cancelled batch
        never ran would otherwise look pending forever. They are counted as expired or
        canceled, as the batch's outcome says.
        """
        if not self.known:
            return self
        update: dict[str, Any] = {}
        if self.pending_sent is not None:
            remainder = self.pending_sent
        else:
            remainder = (self.total or 0) - (self.done or 0) if self.total_known else 0
        if remainder > 0:
            if outcome == "expired":
                update["expired"] = (self.expired or 0) + remainder
            elif outcome == "cancelled":
                update["canceled"] = (self.canceled or 0) + remainder
        # In place when nothing moves (most finished batches): these counts are their
        # batch's own, parsed with it (see read_as); a copy cost a fifth of parsing a batch.
        settled = self.model_copy(update=update) if update else self
        _set_private(settled, _closed=True)
        return settled

    def derived_wire(self) -> dict[str, int | None]:
        """``succeeded`` and ``pending`` for ``--json``: filled in, null where unknown."""
        return {"succeeded": self.succeeded, "pending": self.pending}


class BatchErrorItem(_Lenient):
    code: LenientStr = None
    message: LenientStr = None
    param: LenientStr = None
    line: LenientInt = None


def _error_items(value: Any) -> list[Any]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


class BatchErrors(_Lenient):
    object: LenientStr = None
    data: Annotated[list[BatchErrorItem], BeforeValidator(_error_items)] = Field(default_factory=list)


def _errors(value: Any) -> Any:
    return value if isinstance(value, dict) else None


class ExtraFields(_Lenient):
    """Bifrost's own fields on every response. Two spellings of the model fields exist."""

    request_type: LenientStr = None
    provider: LenientStr = None
    latency: LenientInt = None
    chunk_index: LenientInt = None
    original_model_requested: LenientStr = None
    resolved_model_used: LenientStr = None
    model_requested: LenientStr = None
    model_deployment: LenientStr = None

    @property
    def model_asked(self) -> str | None:
        return self.original_model_requested or self.model_requested

    @property
    def model_used(self) -> str | None:
        return self.resolved_model_used or self.model_deployment


def _extra_fields(value: Any) -> Any:
    return value if isinstance(value, dict) else {}


def _counts(value: Any) -> Any:
    return value if isinstance(value, dict) else {}


class TokenUsage(_Lenient):
    """OpenAI's ``usage`` of a batch (https://platform.openai.com/docs/api-reference/batch/object:
    input_tokens, output_tokens, total_tokens, and their details, not kept here)."""

    input_tokens: LenientCount = None
    output_tokens: LenientCount = None
    total_tokens: LenientCount = None

    @property
    def known(self) -> bool:
        return any(v is not None for v in (self.input_tokens, self.output_tokens, self.total_tokens))

    @property
    def total(self) -> int | None:
        """total_tokens, or input + output when only those came."""
        if self.total_tokens is not None:
            return self.total_tokens
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


def _usage(value: Any) -> Any:
    return value if isinstance(value, dict) else None


TIMESTAMP_FIELDS = (
    "created_at",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "expires_at",
    "archived_at",
)


BatchKey = tuple[str, ...]
"""``(provider, id)``, or ``(provider, id, profile)`` for a batch of a board that shows
several profiles. Every key starts with provider and id, so ``key[0]`` and ``key[1]`` are
those whatever the board; one-profile boards (and the command line) never see a third part."""


def batch_key(provider: str, batch_id: str, origin: str = "") -> BatchKey:
    """The key of batch ``batch_id`` of ``provider``, fetched through profile ``origin``."""
    return (provider, batch_id, origin) if origin else (provider, batch_id)


def key_origin(key: BatchKey) -> str:
    """The profile a key's batch came through ("" on a one-profile board)."""
    return key[2] if len(key) > 2 else ""


class Batch(_Lenient):
    """One batch as the gateway describes it, plus the provider it was fetched from."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    id: str
    status: str
    provider: str = ""
    origin: str = ""
    """The profile it was fetched through, on a board of several profiles ("" otherwise):
    not gateway data, set by the client (two gateways may front the same provider
    account, and a cancel must go through the batch's own profile)."""
    object: LenientStr = None
    endpoint: LenientStr = None
    completion_window: LenientStr = None
    input_file_id: LenientStr = None
    output_file_id: LenientStr = None
    error_file_id: LenientStr = None
    request_counts: Annotated[RequestCounts, BeforeValidator(_counts)] = Field(default_factory=RequestCounts)
    metadata: StringMap = Field(default_factory=dict)
    errors: Annotated[BatchErrors | None, BeforeValidator(_errors)] = None
    created_at: LenientInt = None
    in_progress_at: LenientInt = None
    finalizing_at: LenientInt = None
    completed_at: LenientInt = None
    failed_at: LenientInt = None
    expired_at: LenientInt = None
    cancelling_at: LenientInt = None
    cancelled_at: LenientInt = None
    expires_at: LenientInt = None
    # OpenAI's own API (and LiteLLM's): the model and the tokens used so far
    model: LenientStr = None
    usage: Annotated[TokenUsage | None, BeforeValidator(_usage)] = None
    # Anthropic-backed
    processing_status: LenientStr = None
    results_url: LenientStr = None
    archived_at: LenientInt = None
    # Gemini-backed
    operation_name: LenientStr = None
    done: LenientBool = None

    # Vertex-backed (core/schemas/batch.go BifrostBatchRetrieveResponse.DisplayName)
    display_name: LenientStr = None
    extra_fields: Annotated[ExtraFields, BeforeValidator(_extra_fields)] = Field(default_factory=ExtraFields)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _read_counts(self) -> Batch:
        # The provider decides what the counts mean; finished batches have nothing pending.
        counts = self.request_counts.read_as(self.traits, live=not self.finished)
        if self.finished:
            counts = counts.settled(self.outcome)
        self.request_counts = counts
        return self

    def says_the_same_as(self, data: dict[str, Any]) -> bool:
        """Whether ``data`` (a wire object) is what this batch was read from, bookkeeping
        (latency, request type) aside: then parsing it again would give this batch."""
        return bool(self._raw) and _comparable(self._raw) == _comparable(data)

    @classmethod
    def from_wire(cls, data: dict[str, Any], provider: str, origin: str = "") -> Batch:
        """Parse one batch object; raises pydantic.ValidationError when id/status are unusable."""
        batch = cls.model_validate({**data, "provider": provider, "origin": origin})
        _set_private(batch, _raw=data)
        return batch

    def over(self, earlier: Batch) -> Batch:
        """This partial view of a batch laid over an ``earlier``, fuller one.

        List items can lack what a retrieve gave (Bedrock's counts, model fields), and
        Bifrost's cancel answer is a cut-down batch (id, status, counts, cancel times).
        What this view says wins; what it lacks is kept from before.
        """
        merged = {**earlier._raw, **self._raw}
        # A batch that has just finished must not wear its last live counts: they would be
        # taken as final. Unknown until fetched is the truth.
        if not self.request_counts.known and earlier.request_counts.known and (earlier.finished or not self.finished):
            merged["request_counts"] = earlier._raw.get("request_counts")
        # List items carry extra_fields of their own with little in them (latency only, 0
        # for Bedrock/Gemini/Vertex: core/schemas/bifrost.go PopulateExtraFields fills the
        # top level only): they must not wipe what a retrieve said (model, latency).
        mine, theirs = self._raw.get("extra_fields"), earlier._raw.get("extra_fields")
        if isinstance(mine, dict) and isinstance(theirs, dict):
            merged["extra_fields"] = {**theirs, **{k: v for k, v in mine.items() if v not in (None, "", 0)}}
        return Batch.from_wire(merged, self.provider, self.origin)

    def __eq__(self, other: Any) -> bool:
        """Same batch, same state: what the gateway said, minus the per-answer bookkeeping
        (latency, request type), which differs at every poll and is no change of the batch."""
        if not isinstance(other, Batch):
            return NotImplemented
        if other is self:
            return True
        if not self._raw and not other._raw:  # built in code, not from the wire
            return super().__eq__(other)
        return (
            self.provider == other.provider
            and self.origin == other.origin
            and _comparable(self._raw) == _comparable(other._raw)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def wire(self) -> dict[str, Any]:
        """The batch object as the gateway sent it (read-only); for a batch built in code,
        its fields in the wire's shape."""
        if self._raw:
            return self._raw
        return self.model_dump(mode="json", exclude={"provider", "origin"}, exclude_none=True)

    @property
    def key(self) -> BatchKey:
        """Batches are identified by (provider, id): ids are only unique per provider. On a
        board of several profiles, by the profile too (see :func:`batch_key`)."""
        return batch_key(self.provider, self.id, self.origin)

    @property
    def traits(self) -> ProviderTraits:
        """What this batch's provider means by its counts (``tui.api.providers``)."""
        return traits(self.provider)

    @property
    def status_word(self) -> str:
        """The status for comparisons: lower case, trimmed."""
        return self.status.strip().lower()

    @property
    def status_shown(self) -> str:
        """The status for people: exactly as sent (``JOB_STATE_PAUSED`` stays so), trimmed.
        Still raw gateway text: pass it through ``safe_text`` before printing."""
        return self.status.strip()

    @property
    def counts_at_end(self) -> bool:
        """True while the batch runs on a provider that reports counts only when it ends."""
        return self.request_counts.at_end

    @property
    def finished(self) -> bool:
        return status_is_finished(self.status)

    @property
    def outcome(self) -> str:
        """The status with Anthropic's catch-all ``ended`` resolved into how it finished."""
        status = self.status_word
        if status == "canceled":
            return "cancelled"
        if status != "ended":
            return status
        counts = self.request_counts
        if self.cancelling_at or (counts.canceled or 0) > 0:
            return "cancelled"
        if (counts.expired or 0) > 0:
            return "expired"
        if counts.known and counts.total and (counts.failed or 0) >= counts.total:
            return "failed"
        return "completed"

    @property
    def name(self) -> str | None:
        """A human name from metadata, when the creator gave one."""
        for key in ("name", "job", "description", "job_name", "batch_name"):
            value = self.metadata.get(key)
            if value:
                return value
        return self.display_name or None

    @property
    def finished_at(self) -> int | None:
        return self.completed_at or self.failed_at or self.expired_at or self.cancelled_at if self.finished else None

    def as_wire(self) -> dict[str, Any]:
        """The object as the gateway sent it, with ``provider`` and derived counts added."""
        data = dict(self._raw)
        data["provider"] = self.provider
        counts = data.get("request_counts")
        merged = dict(counts) if isinstance(counts, dict) else {}
        merged.update(self.request_counts.derived_wire())
        data["request_counts"] = merged
        return data


_PER_ANSWER = frozenset({"latency", "request_type", "chunk_index"})


def _comparable(raw: dict[str, Any]) -> dict[str, Any]:
    extra = raw.get("extra_fields")
    if not isinstance(extra, dict):
        return raw
    return {**raw, "extra_fields": {k: v for k, v in extra.items() if k not in _PER_ANSWER}}


class BatchPage(BaseModel):
    """One page of ``GET /v1/batches``."""

    model_config = ConfigDict(extra="ignore")

    data: list[Batch]
    has_more: bool = False
    next_cursor: str | None = None
    first_id: str | None = None
    last_id: str | None = None
    skipped: int = 0
    """Items in ``data`` that were not batch objects (no id/status) and were left out."""


class GatewayErrorDetail(_Lenient):
    """``error`` of the gateway's error body (core/schemas/bifrost.go ErrorField).

    ``error`` is the underlying Go error, written as a string by ErrorField.MarshalJSON
    when there is one; ``code`` may arrive as a number (ErrorField.UnmarshalJSON takes both).
    """

    type: LenientStr = None
    code: LenientStr = None
    message: LenientStr = None
    cause: LenientStr = Field(default=None, alias="error")


UNSUPPORTED = "unsupported_operation"

# core/providers/utils/utils.go NewUnsupportedOperationError:
# fmt.Sprintf("%s is not supported by %s provider", requestType, providerName). Older gateways
# send only this message, without error.code.
_UNSUPPORTED_MESSAGE = re.compile(r"^\s*batch_[a-z_]+ is not supported by \S+ provider\s*$")


class GatewayErrorBody(_Lenient):
    """The gateway's error body: ``error.message`` is the text to show a person."""

    is_bifrost_error: LenientBool = None
    status_code: LenientInt = None
    type: LenientStr = None
    error: Annotated[GatewayErrorDetail | None, BeforeValidator(_errors)] = None
    extra_fields: Annotated[ExtraFields, BeforeValidator(_extra_fields)] = Field(default_factory=ExtraFields)

    @property
    def error_type(self) -> str | None:
        return (self.error.type if self.error else None) or self.type

    @property
    def code(self) -> str | None:
        return self.error.code if self.error else None

    @property
    def message(self) -> str | None:
        return self.error.message if self.error else None

    @property
    def cause(self) -> str | None:
        """The underlying error (``error.error``), when the gateway sent one."""
        return self.error.cause if self.error else None

    @property
    def unsupported(self) -> bool:
        """The provider cannot do this batch call at all: ``unsupported_operation`` in
        ``error.code`` (newer gateways), ``error.type``, or only in the message (older)."""
        if UNSUPPORTED in (self.code, self.error_type):
            return True
        return bool(self.message and _UNSUPPORTED_MESSAGE.match(self.message))
