"""Request counts summed over batches, the unit the count widgets show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from tui.api import Batch


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts summed over a set of batches (unknown counts left out). Floats for rates."""

    pending: float = 0
    succeeded: float = 0
    failed: float = 0
    canceled: float = 0
    expired: float = 0

    @classmethod
    def of(cls, batches: Iterable[Batch]) -> Totals:
        pending = succeeded = failed = canceled = expired = 0
        for batch in batches:
            c = batch.request_counts
            pending += c.pending or 0
            succeeded += c.succeeded or 0
            failed += c.failed_count or 0
            canceled += c.canceled_count or 0
            expired += c.expired_count or 0
        return cls(pending, succeeded, failed, canceled, expired)

    # Spelled out rather than over fields(): the board does these for every batch a poll
    # changed (its share of the summary, its rates), thousands of times a poll.
    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.pending + other.pending,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.canceled + other.canceled,
            self.expired + other.expired,
        )

    def __sub__(self, other: Totals) -> Totals:
        return Totals(
            self.pending - other.pending,
            self.succeeded - other.succeeded,
            self.failed - other.failed,
            self.canceled - other.canceled,
            self.expired - other.expired,
        )

    def scaled(self, factor: float) -> Totals:
        return Totals(
            self.pending * factor,
            self.succeeded * factor,
            self.failed * factor,
            self.canceled * factor,
            self.expired * factor,
        )

    @property
    def done(self) -> float:
        return self.succeeded + self.failed + self.canceled + self.expired


TOTAL_NAMES = tuple(f.name for f in fields(Totals))
