"""How the board is being looked at: the filter, live only, the sort order and the marks, and
what follows from them — which batches are shown, in which order, and which ones a cancel
would act on. Plain state beside the board; the board screen draws what it says."""

from __future__ import annotations

import weakref
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from tui.monitor.board import BatchKey, Board, SortOrder, Summary, matches, sort_key

_MOVING_ORDERS = (SortOrder.ETA,)
"""Orders that move without the board changing (an ETA follows each poll's rate)."""

RESORT_SHARE = 4
"""More than one in this many batches replaced since the last answer: sort them all afresh
(each one bisected into place moves the list after it)."""


@dataclass
class _Sorted:
    """The batches a view shows, kept sorted: the sort key of each (which ends with its
    batch key), in order, so that a poll's replaced batches are taken out and bisected back
    in rather than 10,000 sorted again."""

    board: weakref.ref[Board]
    state: tuple
    """The filter (stripped, lower case), live only and the order."""
    mark: int
    """The board's journal mark these entries are up to date with."""
    entries: list[tuple]
    held: dict[BatchKey, tuple]
    """Each shown key's entry."""
    keys: list[BatchKey]


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
    _sorted: _Sorted | None = field(default=None, repr=False, compare=False)

    def shown(self, board: Board, attention: Collection[BatchKey] = ()) -> list[BatchKey]:
        """The batches on screen, in screen order (``attention``: the batches that need a
        person, used while ``attention_only``). Filtering and sorting 10,000 batches takes
        tens of milliseconds, so the answer is kept, and brought up to date with only the
        batches the board has added or replaced since (a poll that brings nothing new
        leaves it as it is; one that changed 500 batches does not sort 10,000)."""
        if self.sort_order not in _MOVING_ORDERS and not self.attention_only:
            return self._kept_sorted(board)
        wanted = tuple(attention) if self.attention_only else ()
        state = (id(board), board.revision, self.filter_text, self.live_only, self.sort_order, wanted)
        if self.sort_order not in _MOVING_ORDERS and self._shown is not None and self._shown[0] == state:
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

    def _kept_sorted(self, board: Board) -> list[BatchKey]:
        """Every batch the filter and live only choose, in an order that depends on the batch
        objects alone (every order but ETA): kept from the last answer, with the batches
        replaced since taken out and put back where they now belong."""
        needle = self.filter_text.strip().lower()
        state = (needle, self.live_only, self.sort_order)
        kept = self._sorted
        if kept is None or kept.board() is not board or kept.state != state:
            return self._sort_afresh(board, state)
        replaced = board.replaced_since(kept.mark)
        if replaced is None or len(replaced) * RESORT_SHARE > len(board):
            return self._sort_afresh(board, state)
        kept.mark = board.journal_mark
        entries, held = kept.entries, kept.held
        key_of = sort_key(self.sort_order)
        moved = False
        for key in dict.fromkeys(replaced):
            tracked = board.get(key)
            entry = key_of(tracked) if tracked is not None and matches(tracked.batch, needle, self.live_only) else None
            old = held.get(key)
            if entry == old:
                continue
            moved = True
            if old is not None:
                at = bisect_left(entries, old)
                if at == len(entries) or entries[at] != old:  # cannot happen; never show a wrong order
                    return self._sort_afresh(board, state)
                del entries[at]
                del held[key]
            if entry is not None:
                insort(entries, entry)
                held[key] = entry
        if moved:
            kept.keys = [entry[-1] for entry in entries]
        return kept.keys

    def _sort_afresh(self, board: Board, state: tuple) -> list[BatchKey]:
        needle, live_only, order = state
        key_of = sort_key(order)
        held = {}
        for key in board.matching(needle, live_only):
            tracked = board.get(key)
            if tracked is not None:
                held[key] = key_of(tracked)
        entries = sorted(held.values())
        self._sorted = _Sorted(weakref.ref(board), state, board.journal_mark, entries, held, [e[-1] for e in entries])
        return self._sorted.keys

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
