"""Batch plans, and a batch's state as a pure function of simulated time.

Every simulated batch is fixed at creation by a :class:`BatchPlan` (when it was created,
how long it validates, how fast it runs, what fraction fails, how it ends). Its state at
any moment is then computed, never stored or stepped: polling twice at the same simulated
time gives the same answer, and the same seed and clock give the same bytes in any run.
The only event that changes a plan's future is a cancel, passed in as ``cancel_at``.

States here are provider-neutral (OpenAI's vocabulary); ``shapes`` turns them into each
provider's wire form.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Outcome = Literal["completed", "failed", "expired"]

LIVE_STATUSES = frozenset({"validating", "in_progress", "finalizing"})
"""States in which a cancel is accepted (``cancelling`` is live too, but already cancelled)."""


@dataclass(frozen=True)
class BatchPlan:
    """Everything that decides a batch's life, fixed when the batch is created.

    ``outcome`` "failed" means the input never validated: the batch fails once
    ``start_delay`` is over, having processed nothing. "expired" is reached by a
    ``window`` shorter than the time the batch needs; "completed" by one long enough.
    """

    provider: str
    id: str
    created_at: int
    total: int
    model: str
    start_delay: float = 5.0
    """Seconds spent validating before requests start to run."""
    rate: float = 10.0
    """Requests per simulated second while running (0 = never moves)."""
    failure_fraction: float = 0.0
    outcome: Outcome = "completed"
    window: float = 86_400.0
    """Seconds from creation until an unfinished batch expires (OpenAI's "24h")."""
    finalize_for: float = 5.0
    """Seconds spent finalizing after the last request ran."""
    cancel_settle: float = 5.0
    """Seconds between a cancel request and the batch reaching ``cancelled``."""
    stall_after: float | None = None
    """Running seconds after which the batch stops moving for ``stall_for`` seconds."""
    stall_for: float = 0.0
    archive_after: float | None = None
    """Seconds after the end at which the batch is archived (Anthropic ``archived_at``)."""
    metadata: dict[str, str] = field(default_factory=dict)
    errors: tuple[dict[str, object], ...] = ()
    model_fields: str = "none"
    """Model names in the top-level ``extra_fields``: "none" (what the gateway sends for
    batch calls, which carry no model), "new" (``original_model_requested`` and
    ``resolved_model_used``) or "legacy" (``model_requested``/``model_deployment``).
    The last two exist only so a client can be tested against them."""
    legacy_model_fields: bool = False
    """Shorthand for ``model_fields="legacy"``."""
    raw_status: str | None = None
    """A provider-native state (e.g. Bedrock "Scheduled", Vertex "JOB_STATE_PAUSED",
    Gemini "BATCH_STATE_UNSPECIFIED") reported instead of the simulated one while the
    batch is in one of ``raw_status_during``. It goes through the provider's own status
    mapping in ``shapes``, so a state the gateway does not know passes through as is."""
    raw_status_during: tuple[str, ...] = ("validating", "in_progress", "finalizing")
    inline_requests: bool = False
    """Gemini: the requests were sent inline, so the results come back inline and there
    is no responses file (no ``output_file_id``)."""
    key: int | None = None
    """Which of the provider's gateway keys the batch lives under; None lets the world
    pick (see ``SimWorld``)."""

    @property
    def started_at(self) -> float:
        return self.created_at + self.start_delay

    @property
    def expires_at(self) -> int:
        return int(self.created_at + self.window)

    def processed(self, now: float) -> int:
        """How many requests have run (succeeded or errored) by ``now``, ignoring cancels."""
        active = now - self.started_at
        if active <= 0:
            return 0
        if self.stall_after is not None and active > self.stall_after:
            active = max(self.stall_after, active - self.stall_for)
        return min(self.total, int(active * self.rate))

    def all_processed_at(self) -> float | None:
        """When the last request runs, or None if the batch never gets there."""
        if self.rate <= 0:
            return None
        needed = self.total / self.rate
        if self.stall_after is not None and needed > self.stall_after:
            needed += self.stall_for
        return self.started_at + needed


@dataclass(frozen=True)
class BatchState:
    """A batch at one moment: status, request counts and the timestamps reached so far."""

    status: str
    total: int
    validated: bool
    """False while validating or after failing validation: OpenAI then reports zero counts."""
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    times: dict[str, int] = field(default_factory=dict)
    """Reached milestones: in_progress_at, finalizing_at, completed_at, failed_at,
    expired_at, cancelling_at, cancelled_at, archived_at."""

    @property
    def pending(self) -> int:
        return self.total - self.succeeded - self.errored - self.canceled - self.expired

    @property
    def processed(self) -> int:
        return self.succeeded + self.errored

    @property
    def finished(self) -> bool:
        return self.status not in LIVE_STATUSES and self.status != "cancelling"


def state_at(plan: BatchPlan, now: float, cancel_at: float | None = None) -> BatchState:
    """The state of ``plan`` at simulated time ``now``, given a cancel accepted at ``cancel_at``."""
    if cancel_at is not None and now >= cancel_at:
        state = _cancelled(plan, now, cancel_at)
    else:
        state = _uncancelled(plan, now)
    return _archived(plan, now, state)


def _split(plan: BatchPlan, processed: int) -> tuple[int, int]:
    errored = int(processed * plan.failure_fraction)
    return processed - errored, errored


def _uncancelled(plan: BatchPlan, now: float) -> BatchState:
    if now < plan.started_at:
        return BatchState("validating", plan.total, validated=False)
    start = int(plan.started_at)
    if plan.outcome == "failed":
        return BatchState("failed", plan.total, validated=False, times={"failed_at": start})
    times = {"in_progress_at": start}
    done_at = plan.all_processed_at()
    deadline = plan.created_at + plan.window
    if done_at is not None and done_at < deadline:
        if now < done_at:
            return _running(plan, now, times)
        succeeded, errored = _split(plan, plan.total)
        times["finalizing_at"] = int(done_at)
        if now < done_at + plan.finalize_for:
            return BatchState("finalizing", plan.total, True, succeeded, errored, times=times)
        times["completed_at"] = int(done_at + plan.finalize_for)
        return BatchState("completed", plan.total, True, succeeded, errored, times=times)
    if now < deadline:
        return _running(plan, now, times)
    succeeded, errored = _split(plan, plan.processed(deadline))
    times["expired_at"] = int(deadline)
    left = plan.total - succeeded - errored
    return BatchState("expired", plan.total, True, succeeded, errored, expired=left, times=times)


def _running(plan: BatchPlan, now: float, times: dict[str, int]) -> BatchState:
    succeeded, errored = _split(plan, plan.processed(now))
    return BatchState("in_progress", plan.total, True, succeeded, errored, times=times)


def _cancelled(plan: BatchPlan, now: float, cancel_at: float) -> BatchState:
    # Work stops at the cancel: what ran is kept, what was pending becomes canceled.
    before = _uncancelled(plan, cancel_at)
    times = {**before.times, "cancelling_at": int(cancel_at)}
    settled_at = cancel_at + plan.cancel_settle
    if now < settled_at:
        return BatchState("cancelling", before.total, before.validated, before.succeeded, before.errored, times=times)
    times["cancelled_at"] = int(settled_at)
    canceled = before.total - before.processed
    return BatchState(
        "cancelled", before.total, before.validated, before.succeeded, before.errored, canceled=canceled, times=times
    )


def _archived(plan: BatchPlan, now: float, state: BatchState) -> BatchState:
    if plan.archive_after is None or not state.finished:
        return state
    archived_at = max(state.times.values()) + plan.archive_after
    if now < archived_at:
        return state
    return replace(state, times={**state.times, "archived_at": int(archived_at)})
