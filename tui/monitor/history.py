"""Progress samples of one batch over the polls, and what follows from them: rates and the
throughput sparkline (stalls are judged from ``TrackedBatch.progress_at``, which outlives
the bounded samples)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from tui.monitor.totals import Totals

RATE_WINDOW = 300.0
"""Seconds of history a rate is computed over: long enough to smooth poll jitter,
short enough to follow a batch that speeds up or slows down."""

MAX_SAMPLES = 64
"""Enough for the rate window at a 5 s interval and for the sparkline; 500 batches of
history stay in a few MB."""


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    counts: Totals
    known: bool
    """False when the gateway gave no counts at that poll (Bedrock list items)."""


class ProgressHistory:
    """A bounded series of (time, counts) for one batch, one sample per poll."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._samples: deque[Sample] = deque(maxlen=max_samples)
        self._rates: tuple[float, Totals | None] | None = None
        """The last rates_per_second answer and its window, until the next sample."""

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, at: float, counts: Totals, known: bool = True) -> None:
        self._rates = None
        sample = Sample(at, counts, known)
        if self._samples and at <= self._samples[-1].at:
            self._samples[-1] = sample  # two answers for one instant: keep the newer
        else:
            self._samples.append(sample)

    def settled_at(self, counts: Totals) -> bool:
        """The last two samples both hold ``counts``: another one would change nothing but
        the time (for a finished batch, whose rate is not shown, nothing at all)."""
        return len(self._samples) >= 2 and self._samples[-1].counts == counts == self._samples[-2].counts

    def _known(self) -> list[Sample]:
        return [s for s in self._samples if s.known]

    def change_since_previous(self) -> Totals:
        """Counts at the last poll minus the poll before it (zero with fewer than two).

        Unknown counts weigh zero here, as they do in the totals, so that the changes of
        all batches add up to the change of the totals on screen.
        """
        if len(self._samples) < 2:
            return Totals()
        return self._samples[-1].counts - self._samples[-2].counts

    def rates_per_second(self, window: float = RATE_WINDOW) -> Totals | None:
        """Change per second of each count over the window; None with fewer than two samples."""
        if self._rates is not None and self._rates[0] == window:
            return self._rates[1]
        rates = self._rates_over(window)
        self._rates = (window, rates)
        return rates

    def _rates_over(self, window: float) -> Totals | None:
        # Newest first over the known samples, without a list of them: the board asks this
        # of every batch a poll changed.
        newest = oldest = None
        for sample in reversed(self._samples):
            if not sample.known:
                continue
            if newest is None:
                newest = sample
                continue
            if oldest is not None and newest.at - sample.at > window:
                break
            oldest = sample
        if newest is None or oldest is None:
            return None
        span = newest.at - oldest.at
        if span <= 0:
            return None
        return (newest.counts - oldest.counts).scaled(1 / span)

    def done_rate_per_second(self, window: float = RATE_WINDOW) -> float | None:
        rates = self.rates_per_second(window)
        return None if rates is None else max(rates.done, 0.0)

    def done_rates_per_minute(self, buckets: int = 30) -> list[float]:
        """Per-poll throughput (requests/minute), newest last, for a sparkline."""
        known = self._known()[-(buckets + 1) :]
        out: list[float] = []
        for older, newer in zip(known, known[1:]):
            span = newer.at - older.at
            out.append(max(newer.counts.done - older.counts.done, 0) / span * 60 if span > 0 else 0.0)
        return out
