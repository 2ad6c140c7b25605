"""The monitor's pure state: batches seen, deltas, rates, ETA, stalls, poll schedule. No Textual."""

from tui.monitor.board import (
    Board,
    BatchKey,
    BoardChange,
    CancelState,
    SortOrder,
    Summary,
    TrackedBatch,
)
from tui.monitor.schedule import ProviderHealth, ProviderState
from tui.monitor.totals import Totals

__all__ = [
    "BatchKey",
    "Board",
    "BoardChange",
    "CancelState",
    "ProviderHealth",
    "ProviderState",
    "SortOrder",
    "Summary",
    "Totals",
    "TrackedBatch",
]
