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

TREND_BUCKETS = 30
"""Per-poll throughputs the detail screen's sparkline shows (it is redrawn at every poll)."""

TREND_POLLS = 8
"""Per-poll throughputs a row's sparkline shows: what a board's "seen" rows must cover."""


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
        self._flat = 0
        """How many samples in a row, up to the newest, hold the same counts (and known flag)."""
        self._flat_after = float("-inf")
        """When the last sample before that run was taken (-inf: there is none)."""

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, at: float, counts: Totals, known: bool = True) -> bool:
        """Add a sample; returns whether it can have moved anything the history tells (rates,
        change since the previous poll, sparklines). It cannot when the counts have stood
        still for longer than all of those look back (see :meth:`_still`): at idle, that is
        every running batch, and nothing about it needs looking at again."""
        samples = self._samples
        sample = Sample(at, counts, known)
        if samples and at <= samples[-1].at:
            samples[-1] = sample  # two answers for one instant: keep the newer
            self._rates = None
            self._count_flat()
            return True
        if samples and samples[-1].counts == counts and samples[-1].known == known:
            still = self._still(at)
            samples.append(sample)
            self._flat += 1
            if still:
                return False  # the rates kept stand: they cannot have moved
        else:
            if samples:
                self._flat_after = samples[-1].at
            samples.append(sample)
            self._flat = 1
        self._rates = None
        return True

    def _still(self, at: float) -> bool:
        """Whether a sample at ``at`` holding the newest counts again would move nothing: the
        run of equal samples already covers every sample a row's sparkline reads
        (TREND_POLLS + 1; the detail screen, redrawn at every poll, reads more) and every
        sample the rate window reads, before the new one and after it. The rate reads the
        newest sample, the one before it, and the rest back to RATE_WINDOW seconds before
        the newest: the run covers them when it is the whole history or when the sample
        before it lies more than the window before the newest. (At a 2 s interval the window
        holds more than the bounded history: a batch that moved is still once its whole
        history is the run, MAX_SAMPLES polls later.)"""
        samples = self._samples
        flat = min(self._flat, len(samples))
        if flat < TREND_POLLS + 2:
            return False
        if flat == len(samples):
            return True
        if not samples[-1].known:
            # A run of unknown counts moves nothing computed from the known samples before
            # it, unless the history is full and the oldest of those drops out.
            return len(samples) < (samples.maxlen or 0)
        return samples[-1].at - self._flat_after > RATE_WINDOW

    def _count_flat(self) -> None:
        samples = list(self._samples)
        newest = samples[-1]
        flat = 0
        for sample in reversed(samples):
            if sample.counts != newest.counts or sample.known != newest.known:
                self._flat_after = sample.at
                break
            flat += 1
        else:
            self._flat_after = float("-inf")
        self._flat = flat

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

    def done_rates_per_minute(self, buckets: int = TREND_BUCKETS) -> list[float]:
        """Per-poll throughput (requests/minute), newest last, for a sparkline."""
        known = self._known()[-(buckets + 1) :]
        out: list[float] = []
        for older, newer in zip(known, known[1:]):
            span = newer.at - older.at
            out.append(max(newer.counts.done - older.counts.done, 0) / span * 60 if span > 0 else 0.0)
        return out
