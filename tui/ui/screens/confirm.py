"""The cancel confirmation: names the batch, says what cancelling does, and defaults to no."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.api import Batch
from tui.text.describe import progress_text, status_text
from tui.text.humanize import count
from tui.text.safe import safe_text


class ConfirmCancelScreen(ModalScreen[bool]):
    """Answers True only for ``y`` or the cancel button; enter, escape and ``n`` keep the batch."""

    BINDINGS = [
        Binding("escape", "keep", "Keep running"),
        Binding("n", "keep", "Keep running", show=False),
        Binding("y", "confirm", "Cancel the batch"),
    ]

    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.target = batch
        """The batch to cancel (not ``self.batch``: that is Textual's Widget.batch())."""

    def compose(self) -> ComposeResult:
        batch = self.target
        counts = batch.request_counts
        facts = Text()
        for label, value in (
            ("id", safe_text(batch.id, 200)),
            ("provider", safe_text(batch.provider, 40)),
            ("name", safe_text(batch.name or "—", 80)),
            ("status", status_text(batch)),
            ("progress", progress_text(batch)),
        ):
            if facts:
                facts.append("\n")
            facts.append(f"{label:<9}", style="bold")
            facts.append(value)
        pending = counts.pending
        dropped = (
            f"the {count(pending)} pending requests are dropped"
            if pending is not None
            else "requests not yet run are dropped"
        )
        with Vertical(id="dialog"):
            yield Static(Text("Cancel this batch?", style="bold"), id="dialog-title")
            yield Static(facts, id="dialog-facts")
            yield Static(
                f"Requests already done are kept; {dropped}. This cannot be undone.",
                id="dialog-explain",
                markup=False,
            )
            with Horizontal(id="dialog-buttons"):
                yield Button(Text("Keep running (n)"), id="keep", variant="primary")
                yield Button(Text("Cancel batch (y)"), id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_keep(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)
