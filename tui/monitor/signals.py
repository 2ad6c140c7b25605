"""On-call signals: what about a batch needs a person — stalled, stuck, failing, at risk —
and which batches need attention. Plain Python over the board's :class:`TrackedBatch`, with
``now`` passed in (the board's clock), so every rule is tested without a terminal.

Each rule lives here once; the table, the detail screen, the attention view, the alerts and
``batchtop watch`` all ask these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from tui.text.humanize import minutes_at_least

if TYPE_CHECKING:
    from tui.api import Batch
    from tui.config.watching import SignalSettings
    from tui.monitor.board import BatchKey, Board, TrackedBatch

MINUTE = 60.0
HOUR = 3600.0

STUCK_AFTER: Mapping[str, float] = {"validating": 30 * MINUTE, "finalizing": 30 * MINUTE, "cancelling": 15 * MINUTE}
"""Default limits per state. OpenAI documents cancelling as taking up to 10 minutes."""

MIN_SAMPLES = 3
"""Polls of a batch the board must have seen before it calls it stalled: one slow poll is not a stall."""


class SignalKind(Enum):
    STALLED = "stalled"
    STUCK = "stuck"
    FAILING = "failing"
    AT_RISK = "at_risk"

    @property
    def word(self) -> str:
        return SIGNAL_WORDS[self]


SIGNAL_WORDS = {
    SignalKind.STALLED: "STALLED",
    SignalKind.STUCK: "STUCK",
    SignalKind.FAILING: "FAILING",
    SignalKind.AT_RISK: "AT RISK",
}


@dataclass(frozen=True)
class SignalRules:
    """The thresholds, from the profile's ``[signals]`` table (defaults as the issue set them)."""

    stall_after: float = 10 * MINUTE
    stuck_after: Mapping[str, float] = field(default_factory=lambda: dict(STUCK_AFTER))
    failing_rate: float = 0.05
    """failed / (succeeded + failed) above this is failing..."""
    failing_min_finished: int = 20
    """...once at least this many requests have finished."""
    risk_left: float = HOUR
    """Under this much time left before ``expires_at``..."""
    risk_done: float = 0.9
    """...and less than this fraction done: at risk (also when the ETA lands after expiry)."""
    recent: float = HOUR
    """A batch that failed, expired or was cancelled this recently still needs attention."""


def rules_for(settings: SignalSettings) -> SignalRules:
    """The rules a profile's ``[signals]`` table sets (unset states keep their defaults)."""
    stuck = dict(STUCK_AFTER)
    stuck.update({state: minutes * MINUTE for state, minutes in settings.stuck_minutes.items()})
    return SignalRules(
        stall_after=settings.stall_minutes * MINUTE,
        stuck_after=stuck,
        failing_rate=settings.failing_percent / 100,
        failing_min_finished=settings.failing_min_requests,
    )


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    since: float | None = None
    """When the condition began (stalled: the last progress; stuck: entering the state)."""
    state: str | None = None
    """The state a stuck batch is stuck in."""
    rate: float | None = None
    """The failure rate of a failing batch, 0..1."""
    left: float | None = None
    """Seconds left before a batch at risk expires."""

    def text(self, now: float, *, short: bool = False) -> str:
        """``STALLED 12m``, ``STUCK finalizing 40m``, ``FAILING 7.5%``, ``AT RISK 45m left``.
        Times at minute resolution, so that a row does not change at every poll. ``short``
        drops the state and "left", for narrow cells."""
        word = self.kind.word
        if self.kind is SignalKind.FAILING:
            return f"{word} {_rate(self.rate)}"
        if self.kind is SignalKind.AT_RISK:
            left = minutes_at_least(self.left)
            return f"{word} {left}" if short else f"{word} {left} left"
        ago = minutes_at_least(None if self.since is None else max(now - self.since, 0.0))
        if self.kind is SignalKind.STUCK and self.state and not short:
            return f"{word} {self.state} {ago}"
        return f"{word} {ago}"


def _rate(rate: float | None) -> str:
    if rate is None:
        return "—"
    pct = rate * 100
    return f"{pct:.0f}%" if pct >= 10 or pct == int(pct) else f"{pct:.1f}%"


# -- the rules ------------------------------------------------------------------------


def stalled(tracked: TrackedBatch, now: float, rules: SignalRules) -> Signal | None:
    """A running batch whose done count has not moved for ``stall_after``. Only for providers
    that report progress while running (Anthropic and Bedrock report counts at the end: still
    counts there mean nothing), and only once the board has seen it a few times."""
    batch = tracked.batch
    if batch.finished or batch.counts_at_end or batch.status_word != "in_progress":
        return None
    if not batch.request_counts.known or len(tracked.history) < MIN_SAMPLES:
        return None
    since = tracked.progress_at
    if since is None:
        return None
    if (batch.request_counts.done or 0) == 0 and batch.in_progress_at:
        # Nothing has finished since it started: the gateway's own time says how long.
        since = min(since, float(batch.in_progress_at))
    return Signal(SignalKind.STALLED, since=since) if now - since >= rules.stall_after else None


STATE_STARTED = {"validating": "created_at", "finalizing": "finalizing_at", "cancelling": "cancelling_at"}
"""The gateway's time for entering each state that can be stuck (core/schemas/batch.go)."""


def stuck(tracked: TrackedBatch, now: float, rules: SignalRules) -> Signal | None:
    """Too long in validating, finalizing or cancelling. When the state began comes from the
    gateway's timestamp for it, else from when the board first saw the batch in it."""
    batch = tracked.batch
    state = batch.status_word
    limit = rules.stuck_after.get(state)
    if limit is None or batch.finished:
        return None
    stamp = getattr(batch, STATE_STARTED.get(state, ""), None)
    since = float(stamp) if stamp else tracked.status_since
    return Signal(SignalKind.STUCK, since=since, state=state) if now - since >= limit else None


def failure_rate(batch: Batch) -> tuple[float, int] | None:
    """failed / (succeeded + failed), and that denominator; None while the counts say nothing
    (unknown, or a counts-at-end batch still running)."""
    counts = batch.request_counts
    if not counts.known or counts.at_end:
        return None
    failed = counts.failed_count or 0
    finished = (counts.succeeded or 0) + failed
    return (failed / finished if finished else 0.0), finished


def failing(tracked: TrackedBatch, now: float, rules: SignalRules) -> Signal | None:
    """Failures above the threshold after enough finished requests, live or finished."""
    found = failure_rate(tracked.batch)
    if found is None:
        return None
    rate, finished = found
    if finished < rules.failing_min_finished or rate <= rules.failing_rate:
        return None
    return Signal(SignalKind.FAILING, rate=rate)


def at_risk(tracked: TrackedBatch, now: float, rules: SignalRules) -> Signal | None:
    """A live batch that will probably expire before it finishes: its ETA lands after
    ``expires_at``, or under ``risk_left`` remains with under ``risk_done`` of it done. For a
    counts-at-end provider progress is unknown: under ``risk_left`` remaining is enough."""
    batch = tracked.batch
    if batch.finished or batch.status_word == "cancelling" or batch.expires_at is None:
        return None
    left = max(float(batch.expires_at) - now, 0.0)
    progress = batch.request_counts.progress
    if batch.counts_at_end or progress is None:
        risky = left < rules.risk_left
    else:
        eta = tracked.eta_seconds()
        risky = (eta is not None and eta > left) or (left < rules.risk_left and progress < rules.risk_done)
    return Signal(SignalKind.AT_RISK, left=left) if risky else None


RULES = (stuck, stalled, failing, at_risk)
"""In the order a row shows them when several hold: the first is the one on the table."""


def signals_of(tracked: TrackedBatch, now: float, rules: SignalRules) -> tuple[Signal, ...]:
    """Every signal that holds for ``tracked`` at ``now`` (none for a batch marked gone)."""
    if tracked.gone:
        return ()
    return tuple(signal for rule in RULES if (signal := rule(tracked, now, rules)) is not None)


# -- outcomes and attention -----------------------------------------------------------

BAD_ENDS = frozenset({"failed", "expired", "cancelled"})


def bad_outcome(batch: Batch, rules: SignalRules) -> bool:
    """A finished batch that must not read as a success: it failed, expired or was cancelled,
    or it completed with nothing succeeded or with failures above the threshold."""
    if not batch.finished:
        return False
    outcome = batch.outcome
    if outcome in BAD_ENDS:
        return True
    if outcome != "completed":
        return False
    counts = batch.request_counts
    if counts.known and (counts.total or 0) > 0 and not counts.succeeded:
        return True
    found = failure_rate(batch)
    return found is not None and found[1] >= rules.failing_min_finished and found[0] > rules.failing_rate


def needs_attention(tracked: TrackedBatch, now: float, rules: SignalRules) -> bool:
    """A live batch with a signal, or one that ended badly within ``recent``."""
    batch = tracked.batch
    if tracked.gone:
        return False
    if not batch.finished:
        return bool(signals_of(tracked, now, rules))
    ended = batch.finished_at
    return bad_outcome(batch, rules) and ended is not None and now - ended <= rules.recent


def attention_keys(board: Board, now: float, rules: SignalRules) -> list[BatchKey]:
    """Every batch that needs a person: live ones with a signal, recent bad ends. Looks at
    the live batches and the recently ended only, never the whole history."""
    keys = [t.key for t in board.all_live() if needs_attention(t, now, rules)]
    keys += [t.key for t in board.recent_ends(rules.recent) if needs_attention(t, now, rules)]
    return keys
