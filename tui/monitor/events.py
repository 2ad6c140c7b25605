"""Batch events for people who are not looking: a batch finished, failed, expired or was
cancelled, or a signal (stalled, stuck, failing, at risk) came up. Each is raised once per
batch and condition and re-armed only when the condition clears. Plain Python: the board
screen's notifications, the alert sinks and ``batchtop watch`` all read these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tui.monitor.board import BatchKey, Board, TrackedBatch
from tui.monitor.signals import Signal, SignalKind, SignalRules, bad_outcome, failure_rate, signals_of
from tui.text.describe import progress_text
from tui.text.safe import safe_text

END_EVENTS = {"completed": "finished", "failed": "failed", "expired": "expired", "cancelled": "cancelled"}
"""A finished batch's outcome → its event (any other end, such as Gemini's deleted: finished)."""


@dataclass(frozen=True)
class BatchEvent:
    """One thing that happened to one batch. ``title`` and ``message`` are terminal-safe."""

    event: str
    """One of tui.config.watching.EVENT_NAMES."""
    provider: str
    batch_id: str
    at: float
    title: str
    message: str
    status: str
    bad: bool = False
    """A finished batch that did not succeed (failed, expired, cancelled, or completed with
    failures above the threshold or nothing succeeded)."""
    detail: str = ""
    """The signal as the board shows it (``STALLED 12m``), or how it ended."""

    @property
    def key(self) -> BatchKey:
        return (self.provider, self.batch_id)

    def as_json(self) -> dict[str, Any]:
        """The event as ``batchtop watch --json`` writes it (documented in the README)."""
        return {
            "event": self.event,
            "at": round(self.at, 3),
            "provider": self.provider,
            "id": self.batch_id,
            "status": self.status,
            "bad": self.bad,
            "detail": self.detail,
            "message": self.message,
        }


def _label(tracked: TrackedBatch) -> str:
    batch = tracked.batch
    name = f" ({safe_text(batch.name, 40)})" if batch.name else ""
    return f"{safe_text(batch.provider, 20)} {safe_text(batch.id, 80)}{name}"


def end_event(tracked: TrackedBatch, now: float, rules: SignalRules) -> BatchEvent:
    """The event for a batch that has just finished."""
    batch = tracked.batch
    outcome = batch.outcome
    event = END_EVENTS.get(outcome, "finished")
    bad = bad_outcome(batch, rules)
    how = safe_text(outcome, 20)
    found = failure_rate(batch)
    if found is not None and found[1]:
        rate, finished = found
        how += f", {rate * 100:.1f}% of {finished:,} failed" if rate else f", all {finished:,} succeeded"
    elif batch.request_counts.known:
        how += f", {progress_text(batch)}"
    word = event if event != "finished" else ("finished badly" if bad else "finished")
    return BatchEvent(
        event=event,
        provider=batch.provider,
        batch_id=batch.id,
        at=now,
        title=f"batch {word}",
        message=f"{_label(tracked)}: {how}",
        status=safe_text(batch.status_shown, 40),
        bad=bad,
        detail=how,
    )


def signal_event(tracked: TrackedBatch, signal: Signal, now: float) -> BatchEvent:
    batch = tracked.batch
    text = signal.text(now)
    return BatchEvent(
        event=signal.kind.value,  # the event names are the kinds' values
        provider=batch.provider,
        batch_id=batch.id,
        at=now,
        title=f"batch {signal.kind.word.lower()}",
        message=f"{_label(tracked)}: {text}",
        status=safe_text(batch.status_shown, 40),
        detail=text,
    )


class EventBook:
    """Which conditions have been announced for which batch, so each is announced once."""

    def __init__(self, rules: SignalRules) -> None:
        self.rules = rules
        self._raised: dict[BatchKey, set[SignalKind]] = {}

    def check(
        self,
        board: Board,
        now: float,
        finished: Iterable[BatchKey] = (),
        keys: Iterable[BatchKey] | None = None,
    ) -> list[BatchEvent]:
        """Events since the last check: ends of the batches in ``finished`` (from the polls'
        BoardChange), then signals not up at the last check, of the live batches in ``keys``
        (a poll's keys; None: every live batch, as once a minute, when time alone can raise
        a stall or a stuck state)."""
        events: list[BatchEvent] = []
        for key in dict.fromkeys(finished):
            tracked = board.get(key)
            if tracked is not None and tracked.batch.finished:
                self._raised.pop(key, None)
                events.append(end_event(tracked, now, self.rules))
        if keys is None:
            candidates = board.all_live()
            live = {t.key for t in candidates}
            for key in [k for k in self._raised if k not in live]:
                del self._raised[key]
        else:
            candidates = [t for k in dict.fromkeys(keys) if (t := board.get(k)) is not None]
        for tracked in candidates:
            key = tracked.key
            if tracked.batch.finished:
                self._raised.pop(key, None)
                continue
            signals = signals_of(tracked, now, self.rules)
            before = self._raised.get(key, set())
            events.extend(signal_event(tracked, s, now) for s in signals if s.kind not in before)
            if signals:
                self._raised[key] = {s.kind for s in signals}  # a condition that cleared is re-armed
            else:
                self._raised.pop(key, None)
        return events
