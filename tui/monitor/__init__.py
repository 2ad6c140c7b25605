"""The monitor's pure state: batches seen, deltas, rates, ETA, stalls, poll schedule, the view
of the board. No Textual. The poll loop itself is tui.monitor.runner."""

from tui.monitor.board import (
    BatchKey,
    Board,
    BoardChange,
    CancelState,
    SortOrder,
    Summary,
    TrackedBatch,
)
from tui.monitor.schedule import ProviderHealth, ProviderState
from tui.monitor.totals import Totals
from tui.monitor.view import BoardView

__all__ = [
    "BatchKey",
    "Board",
    "BoardChange",
    "BoardView",
    "CancelState",
    "ProviderHealth",
    "ProviderState",
    "SortOrder",
    "Summary",
    "Totals",
    "TrackedBatch",
]
