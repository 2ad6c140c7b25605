"""The batch table: one row per (provider, id), diffed in place at every poll.

Rows are never rebuilt on a poll: new batches are added, changed cells are updated with
``update_cell(..., update_width=False)``, and the rows are re-ordered by sorting on the
id cell, which carries its batch key. The cursor is put back on the batch it was on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tui.monitor import BatchKey, Board, TrackedBatch
from tui.text.humanize import ago
from tui.ui.widgets.cells import COLUMNS, BatchId, Column, row_cells

WIDE = 120
"""At this width and above every column is shown; below, only the essential ones."""
MIN_WIDE_ID = 24
"""Ids keep at least this many characters before other columns get wider."""


def _row_signature(tracked: TrackedBatch, now: float, marked: bool) -> tuple | None:
    """What a finished batch's row depends on; None for live rows, which are always redrawn
    (their rate and ETA move with every poll). Rendering 500 rows at every poll is the
    board's main CPU cost; most of them are finished and never change."""
    if not tracked.batch.finished:
        return None
    return (_Same(tracked.batch), tracked.gone, tracked.cancel_state, marked, ago(tracked.batch.created_at, now))


class _Same:
    """Holds a batch and equals only a holder of the very same object (cheaper than
    comparing every field; the board keeps the object when a poll brings no change)."""

    __slots__ = ("batch",)

    def __init__(self, batch: object) -> None:
        self.batch = batch

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.batch is self.batch

    __hash__ = None  # type: ignore[assignment]


def row_key(key: BatchKey) -> str:
    return f"{key[0]}\x00{key[1]}"


class BatchTable(DataTable):
    """The live table of batches."""

    DEFAULT_CSS = """
    BatchTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)
        self._columns: tuple[Column, ...] = ()
        self._id_width = 14
        self._widths: dict[str, int] = {}
        self._cells: dict[BatchKey, tuple[Text, ...]] = {}
        self._order: list[BatchKey] = []
        self._restore: BatchKey | None = None
        self._signatures: dict[BatchKey, tuple | None] = {}
        self._cursor_chosen = False
        """Until the person moves the cursor it stays on the top row, whichever provider
        answers first; after that it follows the batch it is on."""

    # The cursor follows its batch only once a person has put it somewhere.
    def action_cursor_down(self) -> None:
        self._cursor_chosen = True
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._cursor_chosen = True
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._cursor_chosen = True
        super().action_page_down()

    def action_page_up(self) -> None:
        self._cursor_chosen = True
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._cursor_chosen = True
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self._cursor_chosen = True
        super().action_scroll_end()

    def on_click(self) -> None:
        self._cursor_chosen = True

    # -- layout ---------------------------------------------------------------------

    def layout_for(self, width: int) -> bool:
        """Choose the columns for a terminal ``width``; True when the columns changed."""
        columns = tuple(c for c in COLUMNS if width >= WIDE or c.compact)
        # One space of gap per column (cells carry it themselves), plus the scrollbar.
        fixed = sum(c.width + (c.key != "mark") for c in columns if c.key != "id") + 1 + 2
        # Room to spare goes first to columns that can use more (a provider's own status
        # such as JOB_STATE_PAUSED), as long as ids keep MIN_WIDE_ID characters.
        spare = max(width - fixed - MIN_WIDE_ID, 0) if width >= WIDE else 0
        widths: dict[str, int] = {}
        for column in columns:
            extra = min(max((column.wide_width or column.width) - column.width, 0), spare)
            spare -= extra
            widths[column.key] = column.width + extra
        fixed += sum(widths.values()) - sum(c.width for c in columns)
        id_width = max(width - fixed, 10)
        if width >= WIDE:
            id_width = min(id_width, 40)
        if columns == self._columns and id_width == self._id_width and widths == self._widths:
            return False
        self._columns = columns
        self._id_width = id_width
        self._widths = widths
        # Clearing forgets the cursor; the next show() puts it back on the same batch.
        self._restore = self.selected_key if self._cursor_chosen else None
        self.clear(columns=True)
        self._cells.clear()
        self._signatures.clear()
        for column in columns:
            # The same one-space gap as the cells: after right-aligned, before left-aligned.
            label = Text(
                column.label + " " if column.right else " " + column.label, justify="right" if column.right else "left"
            )
            width = (id_width if column.key == "id" else widths[column.key]) + (column.key != "mark")
            self.add_column(label, width=width, key=column.key)
        return True

    # -- data -----------------------------------------------------------------------

    @property
    def selected_key(self) -> BatchKey | None:
        if self.row_count == 0 or not self._order:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except (RowDoesNotExist, KeyError, IndexError):
            return None
        if key is None:
            return None
        provider, _, batch_id = key.partition("\x00")
        return (provider, batch_id)

    def show(self, board: Board, keys: Sequence[BatchKey], now: float, marks: Collection[BatchKey] = ()) -> None:
        """Make the table show exactly ``keys`` in that order, touching only what changed."""
        if not self._columns:
            return  # not laid out yet: the first resize will call show() again
        selected = self.selected_key if self._restore is None else self._restore
        self._restore = None
        wanted = set(keys)
        for key in [k for k in self._cells if k not in wanted]:
            self.remove_row(row_key(key))
            del self._cells[key]
            self._signatures.pop(key, None)
        for key in keys:
            tracked = board.get(key)
            if tracked is None:
                continue
            signature = _row_signature(tracked, now, key in marks)
            if signature is not None and self._signatures.get(key) == signature and key in self._cells:
                continue  # a finished batch that has not changed: nothing to redraw
            self._signatures[key] = signature
            cells = row_cells(tracked, now, self._id_width, self._columns, key in marks)
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=row_key(key))
            else:
                for column, new, before in zip(self._columns, cells, old):
                    if new != before:
                        self.update_cell(row_key(key), column.key, new, update_width=False)
            self._cells[key] = cells
        if list(keys) != self._order_in_table():
            rank = {key: i for i, key in enumerate(keys)}
            self.sort("id", key=lambda cell: rank.get(cell.batch_key, len(rank)) if isinstance(cell, BatchId) else 0)
        self._order = list(keys)
        if self._cursor_chosen and selected is not None and selected in wanted:
            self.select(selected)
        elif not self._cursor_chosen and self.row_count and self.cursor_row != 0:
            self.move_cursor(row=0, animate=False)

    def _order_in_table(self) -> list[BatchKey]:
        return list(self._order) if len(self._order) == self.row_count else []

    def select(self, key: BatchKey) -> bool:
        """Put the cursor on ``key``'s row; from then on the cursor follows that batch."""
        self._cursor_chosen = True
        try:
            index = self.get_row_index(row_key(key))
        except RowDoesNotExist:
            return False
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
        return True

    def refresh_rows(
        self, board: Board, keys: Iterable[BatchKey], now: float, marks: Collection[BatchKey] = ()
    ) -> None:
        """Re-render given rows only (a cancel state changed, say)."""
        for key in keys:
            tracked = board.get(key)
            old = self._cells.get(key)
            if tracked is None or old is None:
                continue
            cells = row_cells(tracked, now, self._id_width, self._columns, key in marks)
            for column, new, before in zip(self._columns, cells, old):
                if new != before:
                    self.update_cell(row_key(key), column.key, new, update_width=False)
            self._cells[key] = cells
