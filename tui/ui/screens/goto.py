"""``g`` on a replay: go to a recorded time, typed as HH:MM[:SS] or +N minutes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class GoToTimeScreen(ModalScreen[str | None]):
    """The typed answer on enter; None on escape."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, started: str, now: str) -> None:
        super().__init__()
        self.started = started
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("Go to a time of the recording", style="bold"), id="dialog-title")
            yield Static(f"recorded from {self.started}; now at {self.now}", id="dialog-explain", markup=False)
            field = Input(placeholder="HH:MM, HH:MM:SS or +N minutes from the start", id="typed", max_length=32)
            field.cursor_blink = False
            yield field

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_close(self) -> None:
        self.dismiss(None)
