"""What the app's workers tell it: each a typed message, posted from the worker and handled
on the app's own message loop (so a worker never draws)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.cancel.send import CancelOutcome, CancelReport
from tui.monitor.runner import PollReport

if TYPE_CHECKING:
    from tui.ui.screens.cancel_progress import CancelProgressScreen


class ProviderStateChanged(Message):
    """A provider's health changed without a finished poll: a poll of it has begun."""

    def __init__(self, provider: str) -> None:
        super().__init__()
        self.provider = provider


class PollFinished(Message):
    """One poll of one provider ended, well or not; the board and its health are updated."""

    def __init__(self, report: PollReport) -> None:
        super().__init__()
        self.report = report

    @property
    def provider(self) -> str:
        return self.report.provider


class HistoryPageListed(Message):
    """One page of a provider's history walk was taken into the board (see PollRunner)."""

    def __init__(self, report: PollReport) -> None:
        super().__init__()
        self.report = report


class CancelAnswered(Message):
    """The gateway answered one cancel (its audit line is on disk already)."""

    def __init__(self, outcome: CancelOutcome, progress: CancelProgressScreen | None) -> None:
        super().__init__()
        self.outcome = outcome
        self.progress = progress
        """The progress screen of a bulk cancel; None for a single one."""


class CancelFinished(Message):
    """Every cancel of one confirmed action has its answer (posted after the last
    :class:`CancelAnswered` of that action)."""

    def __init__(self, report: CancelReport, progress: CancelProgressScreen | None) -> None:
        super().__init__()
        self.report = report
        self.progress = progress
