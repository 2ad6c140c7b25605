"""The main screen: count strip, the batch table, the filter, provider status and keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from tui.monitor import BatchKey, BoardChange, Summary
from tui.monitor.totals import TOTAL_NAMES
from tui.text.safe import safe_text
from tui.ui.redraw import redraw_on, stop_redraws
from tui.ui.widgets.batch_table import BatchTable
from tui.ui.widgets.counts import CountStrip
from tui.ui.widgets.status import HeaderBar, ProviderStatusLine, QuietStatic

if TYPE_CHECKING:
    from tui.ui.app import BatchtopApp


class BoardScreen(Screen[None]):
    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("space", "mark", "Mark", key_display="␣"),
        Binding("a", "mark_all", "Mark all shown", show=False),
        Binding("A", "clear_marks", "Clear marks", show=False),
        Binding("enter", "details", "Details", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("l", "live_only", "Live only", show=False),
        Binding("exclamation_mark", "attention", "Attention", key_display="!"),
        Binding("s", "sort", "Sort"),
        Binding("r", "app.poll_now", "Refresh"),
        Binding("p", "app.toggle_pause", "Pause"),
    ]

    if TYPE_CHECKING:  # typed access to the app; at run time Textual's own property
        app = getters.app(BatchtopApp)

    _binding_state: tuple[bool | None, ...] = ()
    _swept_minute = -1
    _status_line: ProviderStatusLine | None = None
    _table: BatchTable | None = None
    _keys_shown: list[BatchKey] | None = None
    _summary_state: tuple = ()
    _summary_moving = True
    _empty_message: str | None = None
    """What the empty-table line says now (None before it was first set)."""

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield CountStrip(id="counts")
        yield BatchTable(id="batches")
        yield Static(id="empty", markup=False)
        yield Input(placeholder="filter: id, name, provider or status — enter applies, esc clears", id="filter")
        yield ProviderStatusLine(id="providers")
        yield QuietStatic(id="board-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._status_line = self.query_one(ProviderStatusLine)
        self._table = self.query_one(BatchTable)
        filter_input = self.query_one("#filter", Input)
        filter_input.display = False
        filter_input.cursor_blink = False
        table = self.query_one(BatchTable)
        table.layout_for(self.size.width or self.app.size.width, tokens=self._wants_tokens(), origins=self._tags())
        table.focus()
        redraw_on(self.app.board_updated, self, self.refresh_from_board)
        redraw_on(self.app.rows_updated, self, self.refresh_rows)
        redraw_on(self.app.health_updated, self, lambda _: self.refresh_status())
        self.refresh_from_board()

    def on_unmount(self) -> None:
        stop_redraws(self, self.app.board_updated, self.app.rows_updated, self.app.health_updated)

    def on_resize(self, event: events.Resize) -> None:
        if self.query_one(BatchTable).layout_for(event.size.width):
            self.refresh_from_board()

    def _tags(self) -> dict[str, str]:
        """Each profile's tag on a board of several; empty on a board of one (no column)."""
        return {o.name: o.tag for o in self.app.origins.values()} if self.app.several else {}

    def _wants_tokens(self) -> bool:
        return any(session.profile.api == "openai" for session in self.app.sessions)

    @property
    def table(self) -> BatchTable:
        # Asked at every poll: the one kept at mount, not a query of the DOM each time.
        return self._table if self._table is not None else self.query_one(BatchTable)

    def shown_keys(self) -> list[BatchKey]:
        app = self.app
        return app.view.shown(app.board, app.attention() if app.view.attention_only else ())

    def refresh_from_board(self, change: BoardChange | None = None) -> None:
        """Bring every part of the screen up to date with the board, touching only what
        changed. ``change`` is what one poll brought (None: anything may have changed, as
        after a key press): then only the rows it carried are looked at, and a poll that
        brought nothing new costs no sorting and no summing."""
        app = self.app
        board = app.board
        now = app.clock()
        minute = int(now // 60)
        if minute != self._swept_minute:  # ages and "running for" move once a minute
            change, self._swept_minute = None, minute
        if change is not None and not change and self._keys_shown is not None:
            # A poll that brought nothing new: the rates and ETAs of the rows it carried may
            # have moved, nothing else (batches a history walk added meanwhile are drawn
            # when its own redraw comes, at most a second later).
            self.table.refresh_rows(board, change.seen, now, app.view.marks)
            if self._summary_moving:
                self._show_summary(board.summary(self._keys_shown))
            # (the status line: the poll's health_updated follows at once)
            self._show_empty_state(self._keys_shown)  # "waiting for the gateway" may be over
            return
        if change is None:  # after switching to a profile of another API, say
            self.table.layout_for(self.size.width or app.size.width, tokens=self._wants_tokens(), origins=self._tags())
        keys = self.shown_keys()
        self._keys_shown = keys
        self.table.rules = app.rules
        with app.batch_update():
            app.show_header(self.query_one(HeaderBar), attention=len(app.attention()))
            self.table.show(board, keys, now, app.view.marks, touched=None if change is None else change.seen)
            summary_state = (id(board), board.revision, app.view.filter_text, app.view.live_only, len(keys))
            if change is None or summary_state != self._summary_state or self._summary_moving:
                self._summary_state = summary_state
                self._show_summary(board.summary(keys))
            self.refresh_status()
            self._show_empty_state(keys)
        self.update_bindings()

    def _show_summary(self, summary: Summary) -> None:
        # Rates decay towards zero over polls that bring nothing new: keep summing until
        # they have got there.
        self._summary_moving = (
            summary.per_minute is not None
            and any(round(getattr(summary.per_minute, name)) for name in TOTAL_NAMES)
            or any(round(getattr(summary.change, name)) for name in TOTAL_NAMES)
        )
        self.query_one(CountStrip).show(summary)
        self.query_one("#board-line", QuietStatic).show_text(Text(self.app.view.describe(summary)))

    def update_bindings(self) -> None:
        """Refresh the footer only when what a key may do has changed.

        A refresh makes Textual's Footer build its key widgets anew; doing that at every
        poll costs CPU over SSH and, in Textual 8.2, leaks the old widgets (textual#6666).
        """
        state = tuple(self.check_action(a, ()) for a in ("cancel", "details", "mark", "clear_marks"))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def _show_empty_state(self, keys: list[BatchKey]) -> None:
        """Say why the table is empty: still waiting, nothing matches, or truly none. (At
        every poll; the line is touched only when what it says changes.)"""
        message = ""
        if not keys:
            health = [h for _, h in self.app.health()]
            if len(self.app.board):
                message = "No batch matches the filter. esc clears it, l toggles live only."
            elif any(h.last_ok_at is None for h in health):
                causes = sorted(
                    {h.last_error.short for h in health if h.last_ok_at is None and h.last_error is not None}
                )
                message = "Waiting for the gateway… " + (
                    f"so far: {safe_text(', '.join(causes), 120)}" if causes else "(see the provider status below)"
                )
            else:
                message = "The gateway reports no batches for these providers."
        if message == self._empty_message:
            return
        self._empty_message = message
        empty = self.query_one("#empty", Static)
        empty.update(message)
        empty.display = bool(message)

    def refresh_status(self) -> None:
        app = self.app
        line = self._status_line
        if line is None or not line.is_attached:  # before mount, or during shutdown
            return
        line.show(app.health(), app.clock())

    def refresh_rows(self, keys: list[BatchKey]) -> None:
        app = self.app
        self.table.refresh_rows(app.board, keys, app.clock(), app.view.marks)
        self.update_bindings()

    def cancel_keys(self) -> list[BatchKey]:
        """What ``c`` acts on: the marked batches if any, else the one under the cursor."""
        return self.app.view.cancel_targets(self.app.board, self.table.selected_key)

    # -- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return True if any(self.app.cancels.can_cancel(k) for k in self.cancel_keys()) else None
        if action in ("details", "mark"):
            return self.table.selected_key is not None
        if action == "clear_marks":
            return True if self.app.view.marks else None  # greyed out, still listed in help
        return True

    def action_cancel(self) -> None:
        keys = self.cancel_keys()
        if keys:
            self.app.cancels.request(keys)

    def action_mark(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.app.toggle_mark(key)
            self.table.action_cursor_down()

    def action_mark_all(self) -> None:
        self.app.mark_all(self.shown_keys())

    def action_clear_marks(self) -> None:
        self.app.clear_marks()

    def action_details(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.app.open_details(key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.update_bindings()

    def action_sort(self) -> None:
        self.app.view.next_sort()
        self.refresh_from_board()

    def action_attention(self) -> None:
        self.app.view.toggle_attention()
        self.refresh_from_board()

    def action_live_only(self) -> None:
        self.app.view.toggle_live_only()
        self.refresh_from_board()

    def action_filter(self) -> None:
        self._status_line = self.query_one(ProviderStatusLine)
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        filter_input.value = self.app.view.filter_text
        filter_input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Filter as you type, so the table shows what enter will keep.
        self.app.view.filter_text = event.value
        self.refresh_from_board()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        view = self.app.view
        view.filter_text = event.value.strip()
        self._status_line = self.query_one(ProviderStatusLine)
        filter_input = self.query_one("#filter", Input)
        filter_input.display = bool(view.filter_text)
        self.refresh_from_board()
        table = self.table
        table.focus()
        keys = self.shown_keys()
        if keys:
            table.select(keys[0])

    def on_key(self, event: events.Key) -> None:
        if event.key == "c" and all(s.profile.read_only for s in self.app.sessions):
            # The binding is greyed out (check_action); say why instead of doing nothing.
            several = self.app.several
            self.app.notify(
                f"Read-only profile{'s' if several else ''}: nothing can be cancelled here.", severity="warning"
            )
            return
        if event.key == "c" and self.app.several:
            keys = self.cancel_keys()
            cancels = self.app.cancels
            if not any(cancels.can_cancel(k) for k in keys) and any(cancels.read_only(k) for k in keys):
                cancels.request(keys)  # greyed out for a read-only profile: it says why
                return
        self._status_line = self.query_one(ProviderStatusLine)
        filter_input = self.query_one("#filter", Input)
        if event.key == "escape" and (filter_input.has_focus or self.app.view.filter_text):
            event.stop()
            self.app.view.filter_text = ""
            filter_input.value = ""
            filter_input.display = False
            self.table.focus()
            self.refresh_from_board()
