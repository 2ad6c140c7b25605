"""Everything about one batch, kept up to date while it is open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from tui.monitor import BatchKey, CancelState, TrackedBatch
from tui.monitor.signals import bad_outcome, signals_of
from tui.text.describe import batch_detail_lines
from tui.text.humanize import count, duration, local_time
from tui.text.safe import safe_text
from tui.ui.redraw import redraw_on, stop_redraws
from tui.ui.widgets.palette import hue
from tui.ui.widgets.status import HeaderBar

if TYPE_CHECKING:
    from tui.ui.app import BatchtopApp


def cancel_timeline(tracked: TrackedBatch) -> Text:
    """Asked at, cancelling at, cancelled at, requests dropped — for a batch cancelled from here
    or elsewhere. Empty when nobody cancelled it."""
    batch = tracked.batch
    if tracked.cancel_asked_at is None and not batch.cancelling_at and batch.outcome != "cancelled":
        return Text()
    text = Text("cancel timeline\n", style="bold")
    steps = (
        ("asked (this session)", tracked.cancel_asked_at),
        ("cancelling at", batch.cancelling_at),
        ("cancelled at", batch.cancelled_at or (batch.completed_at if batch.outcome == "cancelled" else None)),
    )
    for label, when in steps:
        text.append(f"  {label:<22}{local_time(when) if when else '—'}\n")
    dropped = batch.request_counts.canceled_count
    text.append(f"  {'requests dropped':<22}{count(dropped) if batch.finished else '— (not finished yet)'}\n")
    if tracked.cancel_state is not None:
        message = f" — {safe_text(tracked.cancel_message, 300)}" if tracked.cancel_message else ""
        bad = tracked.cancel_state in (CancelState.REFUSED, CancelState.FAILED)
        text.append(f"  {tracked.cancel_state.words}{message}", style=hue("bold red") if bad else "")
    return text


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Back"),
        Binding("c", "cancel", "Cancel batch"),
        Binding("r", "app.poll_now", "Refresh"),
    ]

    if TYPE_CHECKING:  # typed access to the app; at run time Textual's own property
        app = getters.app(BatchtopApp)

    def __init__(self, key: BatchKey) -> None:
        super().__init__()
        self.key = key
        self._can_cancel: bool | None = None
        self.lines: list[tuple[str, str]] = []
        """The (label, value) pairs on screen, terminal-safe."""

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with VerticalScroll(id="detail"):
            yield Static(id="detail-fields")
            yield Static("throughput, requests/min per poll", id="sparkline-label", markup=False)
            yield Sparkline([], id="sparkline")
            yield Static(id="detail-cancel")
        yield Footer()

    def on_mount(self) -> None:
        redraw_on(self.app.board_updated, self, lambda _: self.refresh_from_board())
        redraw_on(self.app.rows_updated, self, lambda _: self.refresh_from_board())
        self.refresh_from_board()

    def on_unmount(self) -> None:
        stop_redraws(self, self.app.board_updated, self.app.rows_updated)

    def refresh_from_board(self) -> None:
        app = self.app
        app.show_header(self.query_one(HeaderBar), key=self.key)
        tracked = app.board.get(self.key)
        if tracked is None:
            self.query_one("#detail-fields", Static).update(Text("This batch is no longer on the board."))
            return
        now = app.clock()
        lines = batch_detail_lines(tracked.batch, now)
        if tracked.gone:
            lines.append(("note", "the gateway no longer knows this batch (404)"))
        rules = app.rules
        for signal in signals_of(tracked, now, rules):
            lines.append(("needs attention", signal.text(now)))
        if tracked.batch.finished and bad_outcome(tracked.batch, rules):
            lines.append(("outcome", "did not succeed: see the failed and canceled counts"))
        self.lines = lines
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in lines:
            table.add_row(Text(label), Text(value))
        self.query_one("#detail-fields", Static).update(table)
        at_end = tracked.batch.counts_at_end
        rates = [] if at_end else tracked.history.done_rates_per_minute()
        sparkline = self.query_one(Sparkline)
        sparkline.display = len(rates) >= 2
        sparkline.data = rates
        label = "throughput, requests/min per poll"
        if at_end:
            running = duration(tracked.running_for(now))
            left = tracked.time_left(now)
            ends = f"; it ends by expires_at, in {duration(left)} at most" if left is not None else ""
            label = f"running for {running}; no throughput until its counts arrive at the end{ends}"
        elif len(rates) < 2:
            label += ": collecting (needs three polls)"
        else:
            label += f": last {rates[-1]:,.0f}, peak {max(rates):,.0f}"
        self.query_one("#sparkline-label", Static).update(label)
        self.query_one("#detail-cancel", Static).update(cancel_timeline(tracked))
        can_cancel = self.check_action("cancel", ())
        if can_cancel != self._can_cancel:  # see BoardScreen.update_bindings
            self._can_cancel = can_cancel
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return True if self.app.cancels.can_cancel(self.key) else None
        return True

    def action_cancel(self) -> None:
        self.app.cancels.request([self.key])

    def action_close(self) -> None:
        self.dismiss(None)
