"""How the board is being looked at: the filter, live only, the sort order and the marks, and
what follows from them — which batches are shown, in which order, and which ones a cancel
would act on. Plain state beside the board; the board screen draws what it says."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from tui.monitor.board import BatchKey, Board, SortOrder, Summary

_MOVING_ORDERS = (SortOrder.ETA,)
"""Orders that move without the board changing (an ETA follows each poll's rate)."""


@dataclass
class BoardView:
    """One person's view of one board."""

    filter_text: str = ""
    """Matched against id, name, provider and status (see :meth:`Board.matching`)."""
    live_only: bool = False
    attention_only: bool = False
    """Only what needs a person (``!``): the keys come from tui.monitor.signals."""
    sort_order: SortOrder = SortOrder.NEWEST
    marks: set[BatchKey] = field(default_factory=set)
    """Batches marked with space: a cancel acts on these when there are any."""
    _shown: tuple[tuple, list[BatchKey]] | None = field(default=None, repr=False, compare=False)

    def shown(self, board: Board, attention: Collection[BatchKey] = ()) -> list[BatchKey]:
        """The batches on screen, in screen order (``attention``: the batches that need a
        person, used while ``attention_only``). Filtering and sorting 10,000 batches takes
        tens of milliseconds, so the answer is kept until the board or the view changes (a
        poll that brings nothing new leaves it as it is)."""
        moving = self.sort_order in _MOVING_ORDERS
        # Newest first over every batch: only a batch added can change it (ids and creation
        # times do not change), so a poll that changed 500 batches does not sort 10,000.
        plain = (
            self.sort_order is SortOrder.NEWEST
            and not self.filter_text.strip()
            and not self.live_only
            and not self.attention_only
        )
        version = board.additions if plain else board.revision
        wanted = tuple(attention) if self.attention_only else ()
        state = (id(board), plain, version, self.filter_text, self.live_only, self.sort_order, wanted)
        if not moving and self._shown is not None and self._shown[0] == state:
            return self._shown[1]
        if self.attention_only:
            chosen = list(attention)
            if self.filter_text.strip() or self.live_only:
                matching = set(board.matching(self.filter_text, self.live_only))
                chosen = [k for k in chosen if k in matching]
            keys = board.sorted_keys(self.sort_order, chosen)
        else:
            keys = board.sorted_keys(self.sort_order, board.matching(self.filter_text, self.live_only))
        self._shown = (state, keys)
        return keys

    def cancel_targets(self, board: Board, selected: BatchKey | None) -> list[BatchKey]:
        """What a cancel acts on: the marked batches if any (in screen order), else the
        selected one, else nothing."""
        if self.marks:
            return board.sorted_keys(self.sort_order, list(self.marks))
        return [] if selected is None else [selected]

    # -- changes ------------------------------------------------------------------------

    def toggle_mark(self, key: BatchKey) -> None:
        self.marks.symmetric_difference_update({key})

    def mark(self, keys: Iterable[BatchKey]) -> None:
        self.marks.update(keys)

    def unmark(self, key: BatchKey) -> None:
        self.marks.discard(key)

    def clear_marks(self) -> None:
        self.marks.clear()

    def next_sort(self) -> None:
        self.sort_order = self.sort_order.next()

    def toggle_live_only(self) -> None:
        self.live_only = not self.live_only

    def toggle_attention(self) -> None:
        self.attention_only = not self.attention_only

    # -- words --------------------------------------------------------------------------

    def describe(self, summary: Summary) -> str:
        """The line under the table: what is shown, and how it is chosen and sorted."""
        line = f"{summary.batches:,} batches · {summary.live:,} live · {summary.with_failures:,} with failures"
        line += f" · sort: {self.sort_order.value}"
        if self.attention_only:
            line += " · needs attention only (! shows all)"
        if self.live_only:
            line += " · live only"
        if self.filter_text:
            line += f" · filter: {self.filter_text}"
        if self.marks:
            line += f" · {len(self.marks)} marked"
        return line
