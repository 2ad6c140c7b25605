"""What may be cancelled, and which confirmation a cancel needs: one rule for the board and
the command line. No Textual.

- A read-only profile cancels nothing, by any path.
- A finished batch cannot be cancelled, and a cancelling one is already on its way: both are
  left out (and said so), each batch counted once.
- One batch, nothing left out, an ordinary profile: a y/N question is enough.
- Otherwise the person types what is at stake: the number of batches (for one batch beside
  others left out, "1"), or in a protected profile, for one batch, the last four characters
  of its id. A wrong answer sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from tui.api import Batch, BatchKey

READ_ONLY_REFUSAL = "read-only profile: nothing can be cancelled"


def may_cancel(batch: Batch) -> bool:
    """Finished batches cannot be cancelled, and a cancelling one is already on its way."""
    return not batch.finished and batch.status_word != "cancelling"


class Confirmation(Enum):
    YES_NO = "y/N"
    TYPE_COUNT = "type the number of batches"
    TYPE_ID_END = "type the last four characters of the id"


@dataclass(frozen=True)
class CancelPlan:
    """What a cancel request would do, and what the person must confirm first."""

    to_cancel: list[Batch] = field(default_factory=list)
    skipped: list[Batch] = field(default_factory=list)
    """Finished or already cancelling: nothing is sent for them."""
    confirmation: Confirmation = Confirmation.YES_NO
    expected: str = "y"
    """What must be typed (for YES_NO, the "y")."""
    refusal: str | None = None
    """Set when nothing may be sent at all (a read-only profile)."""

    @property
    def typed(self) -> bool:
        return self.confirmation is not Confirmation.YES_NO

    def accepts(self, answer: str) -> bool:
        """True when ``answer`` confirms this plan."""
        given = answer.strip()
        if self.confirmation is Confirmation.YES_NO:
            return given.lower() in ("y", "yes")
        return given == self.expected


def plan_cancel(
    batches: Iterable[Batch], *, read_only: bool, protected: bool, unavailable: Iterable[Batch] = ()
) -> CancelPlan:
    """The one rule: which of ``batches`` a cancel would send, and which confirmation it needs.

    ``unavailable`` are batches the caller knows cannot be sent although they look live (the
    board's: gone from the gateway, a cancel already on its way): left out like finished ones.
    """
    if read_only:
        return CancelPlan(refusal=READ_ONLY_REFUSAL)
    seen: set[BatchKey] = set()
    to_cancel: list[Batch] = []
    skipped: list[Batch] = []
    for batch in unavailable:
        if batch.key not in seen:
            seen.add(batch.key)
            skipped.append(batch)
    for batch in batches:
        if batch.key in seen:
            continue
        seen.add(batch.key)
        (to_cancel if may_cancel(batch) else skipped).append(batch)
    if len(to_cancel) == 1 and protected:
        return CancelPlan(to_cancel, skipped, Confirmation.TYPE_ID_END, to_cancel[0].id[-4:])
    if len(to_cancel) == 1 and not skipped:
        return CancelPlan(to_cancel, skipped, Confirmation.YES_NO, "y")
    return CancelPlan(to_cancel, skipped, Confirmation.TYPE_COUNT, str(len(to_cancel)))
