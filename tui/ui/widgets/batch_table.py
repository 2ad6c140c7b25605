"""The batch table: one row per (provider, id), drawn lazily and changed in place.

Its cost follows what is on screen and what changed, not how many batches exist:
- a row's cells are computed only when the row is drawn (each cell is a :class:`LazyCell`
  that asks its :class:`_Row`), so 10,000 rows cost 10,000 cheap placeholders, and only
  the thirty-odd rows on screen are ever rendered;
- at a poll, only the rows the poll touched are looked at; one whose inputs (its batch
  object, cancel state, mark, samples, the minute) are the same is skipped, one that
  changed is marked stale, and if it is on screen its cells are compared and the row
  repainted only when they differ — so ten changed rows cost ten lines to the terminal,
  not the whole table;
- rows are re-ordered (sorted by the board's order) only when the order changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, ItemsView, Iterable, Iterator, KeysView, Sequence, ValuesView

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, DuplicateKey, RowDoesNotExist, RowKey
from textual.widgets.data_table import Row as DataRow

from tui.monitor import BatchKey, Board, TrackedBatch
from tui.monitor.signals import SignalRules, signals_of
from tui.text.humanize import ago, duration
from tui.text.safe import safe_text, shorten_middle
from tui.ui.widgets.cells import Column, ColumnPlan, plan_columns, row_cells, trend_cell, trend_of


def _on_the_minute(now: float) -> float:
    """The time the table's relative cells are drawn for: the start of the minute. Ages and
    "running for" then move for every row at once, once a minute, instead of one row after
    another through the minute (each a line repainted over SSH)."""
    return now - now % 60


def _row_inputs(tracked: TrackedBatch, now: float, marked: bool, rules: SignalRules) -> tuple:
    """Everything a row's cells depend on. Times enter at the resolution cells show them
    (ages, "running for", time left: minutes at best), so a row does not change between
    polls by itself more than once a minute. A finished batch's cells do not depend on its
    samples (no rate, no ETA)."""
    if tracked.batch.finished:
        return (_Same(tracked.batch), tracked.gone, tracked.cancel_state, marked, ago(tracked.batch.created_at, now))
    rate = tracked.rate_per_minute()
    eta = tracked.eta_seconds()
    return (
        _Same(tracked.batch),
        tracked.gone,
        tracked.cancel_state,
        marked,
        ago(tracked.batch.created_at, now),
        int(now // 60),
        None if rate is None else round(rate),
        None if eta is None else duration(eta),
        tuple(signal.text(now) for signal in signals_of(tracked, now, rules)),
        trend_cell(trend_of(tracked)).plain,
    )


class _Same:
    """Holds a batch and equals only a holder of the very same object (cheaper than
    comparing every field; the board keeps the object when a poll brings no change)."""

    __slots__ = ("batch",)

    def __init__(self, batch: object) -> None:
        self.batch = batch

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.batch is self.batch

    __hash__ = None  # type: ignore[assignment]


class _Row:
    """One batch's row: its cells once computed, and what they were computed from."""

    __slots__ = ("key", "cells", "inputs", "build", "row_id")

    def __init__(self, key: BatchKey, build: Callable[[BatchKey], tuple[Text, ...]]) -> None:
        self.key = key
        self.cells: tuple[Text, ...] | None = None
        self.inputs: tuple | None = None
        self.build = build
        self.row_id: RowKey | None = None
        """The DataTable's key of this row."""

    def get(self) -> tuple[Text, ...]:
        if self.cells is None:
            self.cells = self.build(self.key)
        return self.cells


class LazyCell:
    """A table cell computed when drawn: the DataTable holds these, not Text."""

    __slots__ = ("row", "index")

    def __init__(self, row: _Row, index: int) -> None:
        self.row = row
        self.index = index

    @property
    def batch_key(self) -> BatchKey:
        return self.row.key

    @property
    def text(self) -> Text:
        return self.row.get()[self.index]

    @property
    def plain(self) -> str:
        return self.text.plain

    @property
    def style(self) -> str | Style:
        return self.text.style

    @property
    def spans(self) -> list[Span]:
        return self.text.spans

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # Every column has a fixed width: measuring would only compute cells for nothing.
        return Measurement(1, 1)


class _RowCells(dict[ColumnKey, LazyCell]):
    """A row's cells as DataTable keeps them (column key -> cell), each LazyCell made when
    first asked for: DataTable reads a cell by its key when it draws it (or sorts by it), so
    rows never drawn never have theirs made. At 10,000 rows, 110,000 LazyCells were most of
    adding them. Anything that goes through the whole row (values, items, iteration, len)
    gets every cell, as from a plain dict."""

    __slots__ = ("row", "places")

    def __init__(self, row: _Row, places: dict[ColumnKey, int]) -> None:
        super().__init__()
        self.row = row
        self.places = places

    def __missing__(self, column: ColumnKey) -> LazyCell:
        cell = self[column] = LazyCell(self.row, self.places[column])
        return cell

    def _whole(self) -> None:
        if dict.__len__(self) != len(self.places):
            for column in self.places:
                self[column]

    def __len__(self) -> int:
        self._whole()
        return dict.__len__(self)

    def __iter__(self) -> Iterator[ColumnKey]:
        self._whole()
        return dict.__iter__(self)

    def __contains__(self, column: object) -> bool:
        return column in self.places

    def get(self, column: ColumnKey, default: object = None) -> object:  # type: ignore[override]
        return self[column] if column in self.places else default

    def keys(self) -> KeysView[ColumnKey]:  # type: ignore[override]
        self._whole()
        return dict.keys(self)

    def values(self) -> ValuesView[LazyCell]:  # type: ignore[override]
        self._whole()
        return dict.values(self)

    def items(self) -> ItemsView[ColumnKey, LazyCell]:  # type: ignore[override]
        self._whole()
        return dict.items(self)


@functools.lru_cache(maxsize=1024)
def _look(style: Style | None) -> Style | None:
    """A style as the terminal sees it: without the mouse metadata that makes each cell's differ."""
    return None if style is None else style.clear_meta_and_links()


def join_same_looks(strip: Strip) -> Strip:
    """``strip`` with runs of neighbouring segments that look the same joined into one."""
    segments: list[Segment] = []
    text: list[str] = []
    first: Segment | None = None
    look: Style | None = None
    for segment in strip:
        if segment.control:
            return strip
        seg_look = _look(segment.style)
        if first is not None and seg_look == look:
            text.append(segment.text)
            continue
        if first is not None:
            segments.append(Segment("".join(text), first.style))
        first, look, text = segment, seg_look, [segment.text]
    if first is None:
        return strip
    segments.append(Segment("".join(text), first.style))
    if len(segments) == len(strip):
        return strip
    return Strip(segments, strip.cell_length)


CELL_CACHE_SIZE = 4096
"""Rendered cells kept at most: a 160x48 screen shows ~600, each in a few looks."""


def row_key(key: BatchKey) -> str:
    return "\x00".join(key)


def batch_key_of(row: str) -> BatchKey:
    """The batch key a row key was made from (see :func:`row_key`)."""
    return tuple(row.split("\x00"))


class BatchTable(DataTable):
    """The live table of batches."""

    DEFAULT_CSS = """
    BatchTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        # Before DataTable's __init__, which already clears its caches (and so this one).
        self._cell_lines: dict[tuple, tuple[Text, list[list[Segment]]]] = {}
        """Rendered body cells and the Text each was rendered from (see _render_cell)."""
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)
        self._plan: ColumnPlan | None = None
        self._columns: tuple[Column, ...] = ()
        self._id_width = 14
        self._rows: dict[BatchKey, _Row] = {}
        self._order: list[BatchKey] = []
        self._restore: BatchKey | None = None
        self._board: Board | None = None
        self._now = 0.0
        self._marks: Collection[BatchKey] = ()
        self.rules = SignalRules()
        """The signal thresholds of the profile (set by the board screen)."""
        self.show_tokens = False
        """Offer a tokens column when there is room (batches with OpenAI's ``usage``)."""
        self.origin_tags: dict[str, str] = {}
        """A board of several profiles: each profile's one-letter tag (empty for one profile)."""
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

    def layout_for(self, width: int, *, tokens: bool | None = None, origins: dict[str, str] | None = None) -> bool:
        """Choose the columns for a terminal ``width`` (and whether a tokens column is
        wanted, and the profiles' tags on a board of several, when given); True when the
        columns changed."""
        if tokens is not None:
            self.show_tokens = tokens
        if origins is not None:
            self.origin_tags = origins
        plan = plan_columns(width, tokens=self.show_tokens, origins=self.origin_tags)
        if plan == self._plan:
            return False
        self._plan = plan
        self._columns = plan.columns
        self._id_width = plan.widths["id"]
        # Clearing forgets the cursor; the next show() puts it back on the same batch.
        self._restore = self.selected_key if self._cursor_chosen else None
        self.clear(columns=True)
        self._rows.clear()
        for column in plan.columns:
            # The same one-space gap as the cells: after right-aligned, before left-aligned.
            label = Text(
                column.label + " " if column.right else " " + column.label, justify="right" if column.right else "left"
            )
            self.add_column(label, width=plan.render_width(column.key), key=column.key)
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
        return batch_key_of(key)

    def show(
        self,
        board: Board,
        keys: Sequence[BatchKey],
        now: float,
        marks: Collection[BatchKey] = (),
        touched: Iterable[BatchKey] | None = None,
    ) -> None:
        """Make the table show exactly ``keys`` in that order, touching only what changed:
        of the rows already shown, only those in ``touched`` are looked at (all, if None)."""
        if not self._columns:
            return  # not laid out yet: the first resize will call show() again
        self._board, self._now, self._marks = board, _on_the_minute(now), marks
        selected = self.selected_key if self._restore is None else self._restore
        self._restore = None
        rows = self._rows
        added = [key for key in keys if key not in rows]
        if added:
            self._add_rows(added)
        if len(keys) != len(rows) or touched is None:
            # Rows the view no longer shows (those a poll took out of a live-only or filtered
            # view while as many others came in are found here too: the count is taken after
            # adding).
            wanted = set(keys)
            leaving = [k for k in rows if k not in wanted]
            if leaving:
                self._remove_rows(leaving)
        self._update_rows(keys if touched is None else touched)
        if list(keys) != self._order_in_table():
            self._put_in_order(keys)
        self._order = list(keys)
        if self._cursor_chosen and selected is not None and selected in rows:
            self.select(selected)
        elif not self._cursor_chosen and self.row_count and self.cursor_row != 0:
            self.move_cursor(row=0, animate=False)

    def _add_rows(self, keys: list[BatchKey]) -> None:
        """DataTable's ``add_row`` for many rows at once, each a row of lazy cells at the
        bottom. ``add_row`` does, for every row, what need only be done once: it lists the
        columns twice, sets the cursor (a reactive, validated and watched) and asks for an
        idle check — a tenth of a millisecond a row, a second for 10,000. (Fills DataTable's
        private bookkeeping as ``add_row`` does in Textual 8.2: the tests that compare the
        table with the view, and the snapshot tests, show it if a release changes it.)"""
        places = {column.key: i for i, column in enumerate(self.ordered_columns)}
        locations, data, held, new_rows = self._row_locations, self._data, self.rows, self._new_rows
        index = self.row_count
        was_empty = index == 0
        for key in keys:
            row = self._rows[key] = _Row(key, self._build)
            row_id = RowKey(row_key(key))
            if row_id in locations:
                raise DuplicateKey(f"The row key {row_id!r} already exists.")
            row.row_id = row_id
            locations[row_id] = index
            index += 1
            data[row_id] = _RowCells(row, places)
            held[row_id] = DataRow(row_id, 1)
            new_rows.add(row_id)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row does for the first row
        self._update_count += 1
        self.check_idle()

    def _remove_rows(self, keys: list[BatchKey]) -> None:
        """DataTable's ``remove_row`` for many rows at once. ``remove_row`` renumbers every
        row left after each one it removes: toggling live only over 10,000 batches of history
        removed thousands of rows in as many walks of the table (11 s for 1,600 rows). Here
        the rows left are renumbered once, in their order. (DataTable's private bookkeeping,
        as ``remove_row`` keeps it in Textual 8.2; see :meth:`_add_rows`.)"""
        gone: set[RowKey] = set()
        for key in keys:
            row = self._rows.pop(key)
            row_id = row.row_id if row.row_id is not None else RowKey(row_key(key))
            gone.add(row_id)
            cells = self._data.pop(row_id, {})
            if self._updated_cells:
                for column_key in cells:
                    self._updated_cells.discard(CellKey(row_id, column_key))
            self.rows.pop(row_id, None)
        locations = self._row_locations
        left = sorted(
            (index, row_id)
            for row_id in locations
            if row_id not in gone and (index := locations.get(row_id)) is not None
        )
        self._row_locations = type(locations)({row_id: i for i, (_, row_id) in enumerate(left)})
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)
        self.check_idle()

    def _put_in_order(self, keys: Sequence[BatchKey]) -> None:
        """Put the rows in the order of ``keys``: DataTable's ``sort`` with a rank for a key
        does the same in O(n log n) calls of a Python key function (15 ms at 10,000 rows);
        the order is known, so each row's place is only written down."""
        rows = self._rows
        ids = [rows[key].row_id for key in keys if key in rows]
        if len(ids) != len(keys) or len(keys) != self.row_count or len(rows) != len(keys) or None in ids:
            rank = {key: i for i, key in enumerate(keys)}
            self.sort("id", key=lambda cell: rank.get(cell.batch_key, len(rank)) if isinstance(cell, LazyCell) else 0)
            return
        self._row_locations = type(self._row_locations)(
            {row_id: i for i, row_id in enumerate(ids) if row_id is not None}
        )
        self._update_count += 1
        self.refresh()

    def _build(self, key: BatchKey) -> tuple[Text, ...]:
        board = self._board
        tracked = board.get(key) if board is not None else None
        if tracked is None:  # gone from the board before the table caught up: draw nothing
            return tuple(Text("") for _ in self._columns)
        plan = self._plan
        status_width = plan.widths.get("status", 13) if plan is not None else 13
        origin = tracked.batch.origin
        if origin and plan is not None and "origin" in plan.widths:
            width = plan.widths["origin"]
            origin = self.origin_tags.get(origin, "?") if width == 1 else shorten_middle(safe_text(origin), width)
        marked = key in self._marks
        row = self._rows.get(key)
        if row is not None and row.inputs is None:
            # Built as it is drawn (it was off screen when it last changed): note what from,
            # so that the next poll that brings it unchanged keeps these cells, and their
            # renderings, instead of building them again.
            row.inputs = _row_inputs(tracked, self._now, marked, self.rules)
        return row_cells(tracked, self._now, self._id_width, self._columns, marked, self.rules, status_width, origin)

    def _update_rows(self, keys: Iterable[BatchKey]) -> None:
        """Mark stale the rows whose inputs changed; repaint those on screen whose cells did.

        A row off screen is only forgotten (its cells and inputs dropped, rebuilt when it is
        next drawn): working out its inputs — rate, ETA, signals, trend — would cost as much
        as building it, for a row that may never be drawn (a poll of 500 changed batches
        shows a dozen of them; a sweep of ages touches every row)."""
        board = self._board
        if board is None:
            return
        visible: range | None = None  # worked out for the first row found (a poll often brings none)
        rows = self._rows
        repaint: list[tuple[int, int, int]] = []
        locations = self._row_locations
        for key in keys:
            row = rows.get(key)
            if row is None:
                continue
            # The row's own id: get_row_index would build it again and check it twice.
            index = locations.get(row.row_id) if row.row_id is not None else None
            if index is None:
                continue
            if visible is None:
                top = self.scroll_offset.y
                visible = range(top, top + self.scrollable_content_region.height)
            if index not in visible:
                row.cells = row.inputs = None
                continue
            tracked = board.get(key)
            if tracked is None:
                continue
            inputs = _row_inputs(tracked, self._now, key in self._marks, self.rules)
            if inputs == row.inputs:
                continue
            row.inputs = inputs
            before, row.cells = row.cells, None
            cells = row.get()
            if before is None or len(before) != len(cells):
                repaint.append((index, 0, len(cells)))
                continue
            changed = [i for i, (old, new) in enumerate(zip(before, cells)) if old != new]
            if changed:
                repaint.append((index, changed[0], changed[-1] + 1))
        if repaint:
            self._repaint(repaint)

    def _repaint(self, spans: list[tuple[int, int, int]]) -> None:
        """Repaint, in each given row, only the columns from the first changed cell to the
        last. DataTable's own update_cell repaints the whole table (every visible line to
        the terminal, about 9 KB at 120x40, for one changed cell); its render caches are
        keyed by its update counter, which is bumped here so that the repainted cells are
        rendered anew."""
        self._update_count += 1
        edges = [0]
        for column in self.ordered_columns:
            edges.append(edges[-1] + column.get_render_width(self))
        scroll_x, scroll_y = self.scroll_offset
        header = self.header_height if self.show_header else 0
        content = self.scrollable_content_region
        for index, first, end in spans:
            # Lines of the widget: a row scrolled under the header or below the last visible
            # line (where a horizontal scrollbar would be) is not on screen.
            y = header + index - scroll_y
            if not header <= y < content.height:
                continue
            x = edges[min(first, len(edges) - 1)] - scroll_x
            width = edges[min(end, len(edges) - 1)] - scroll_x - x
            region = Region(x, y, width, 1).intersection(Region(0, 0, content.width, content.height))
            if region:
                self.refresh(region)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's, with a body cell's lines kept for as long as its text is the same.

        DataTable keys its cell cache by its update counter, which every added row, sort or
        repaint bumps: each page of a history walk then rendered every visible cell anew
        (Rich padding and cropping, a fifth of the UI's CPU while 10,000 batches load)
        although none of them had changed. Here a cell is rendered again only when its
        Text object (rows rebuild theirs when their inputs change), its place, width or
        look did. (Overrides a private DataTable method, as ``_update_dimensions`` does:
        the snapshot tests show it if a Textual release changes it.)"""
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(cell, LazyCell):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        text = cell.text
        key = (
            cell.batch_key,
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self.show_cursor,
            self._pseudo_class_state,
        )
        kept = self._cell_lines.get(key)
        if kept is not None and kept[0] is text:
            return kept[1]
        lines = self._one_line_cell(text, row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._cell_lines) >= CELL_CACHE_SIZE:
            self._cell_lines.clear()
        self._cell_lines[key] = (text, lines)
        return lines

    def _one_line_cell(
        self, text: Text, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool, hover: bool
    ) -> list[list[Segment]] | None:
        """What DataTable's _render_cell makes of a body cell whose text is one line that
        fits (every cell here: the row plan shortens them to their column), without Rich's
        Styled(Padding(...)) through console.render_lines: the same segments — the padding,
        the text's own, the fill — with the same styles laid on (the row and column for the
        mouse, the look, the cursor's). 31-45 us a cell against DataTable's 208-225 us
        (2026-12-04, 420 cells at 160 columns); the first frame of a board renders some 350
        (issue 10 d). None for anything else: DataTable renders it. (tests/test_table_layout.py
        compares the two for every cell of a board.)"""
        pad = self.cell_padding
        inner = width - 2 * pad
        plain = text.plain
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        if fixed or inner < 0 or "\n" in plain or "\t" in plain or text.cell_len > inner:
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        console = self.app.console
        # As Rich's Lines.justify: right and centre strip the end first, and pad with the
        # text's own style (spaces put in the text); the default leaves the rest to the
        # padding, in no style.
        justify = text.justify
        if justify in ("right", "center"):
            text = text.copy()
            text.rstrip()
        elif justify not in (None, "default", "left"):
            return None  # "full": DataTable renders it
        excess = inner - text.cell_len
        left = excess if justify == "right" else excess // 2 if justify == "center" else 0
        right = excess - left
        filler = console.get_style(text.style) if justify in ("right", "center", "left") else Style()
        segments: list[Segment] = [Segment(" " * pad, Style())] if pad else []
        if left:
            segments.append(Segment(" " * left, filler))
        body = [segment for segment in text.render(console) if segment.text and segment.text != "\n"]
        if text.style:  # Rich joins a text's lines with its own style as a span under the rest
            body = list(Segment.apply_style(body, console.get_style(text.style)))
        segments += body
        if right:
            segments.append(Segment(" " * right, filler))
        if pad:
            segments.append(Segment(" " * pad, Style()))
        return [list(Segment.apply_style(segments, pre_style, post_style or None))]

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cell_lines.clear()  # a new theme or new columns: every look may differ

    def render_line(self, y: int) -> Strip:
        """A row's line with neighbouring cells of one look joined into one segment.

        The terminal receives a style's escape sequence (about 35 bytes in truecolor) for
        every segment; a row is some fifteen cells and gaps in four or five looks, so joining
        them roughly halves what a changed row costs over SSH. The joined segment keeps the
        first cell's mouse metadata: with a row cursor a click only needs the row, which
        every cell of the line shares. The header line is left alone (a click there names
        its column)."""
        strip = super().render_line(y)
        if y < (self.header_height if self.show_header else 0):
            return strip
        return join_same_looks(strip)

    def _update_dimensions(self, new_rows: Iterable[object]) -> None:
        """DataTable measures every cell of every new row here, to size auto-width columns
        and auto-height rows (about 0.3 ms a row: 10,000 rows took 3 s). This table has
        neither — every column has a width, every row one line, no row labels — so only
        the virtual size is left to set. (Overrides a private DataTable method: the
        snapshot tests show it if a Textual release changes what it must do.)"""
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width + self._row_label_column_width, self._total_row_height + header)

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
        self._board, self._now, self._marks = board, _on_the_minute(now), marks
        self._update_rows(keys)
