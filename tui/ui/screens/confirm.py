"""The cancel confirmation: names the batch, says what cancelling does, and defaults to no."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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

SEND_WAIT = 0.5
"""The longest the dialog stays up after ``y``, waiting for its cancel to be on the wire."""


class ConfirmCancelScreen(ModalScreen[bool]):
    """Answers True only for ``y`` or the cancel button; enter, escape and ``n`` keep the batch.

    Given ``send``, the dialog starts the cancel itself when confirmed and closes once the
    request has been written (at most ``SEND_WAIT`` later): closing it redraws the board
    and its footer, tens of milliseconds of the UI loop that would otherwise come before
    the request. ``send`` returns an event set when the request is out, or None.
    """

    BINDINGS = [
        Binding("escape", "keep", "Keep running"),
        Binding("n", "keep", "Keep running", show=False),
        Binding("y", "confirm", "Cancel the batch"),
    ]

    def __init__(
        self, batch: Batch, *, send: Callable[[], asyncio.Event | None] | None = None, profile: str | None = None
    ) -> None:
        super().__init__()
        self.target = batch
        self.profile = profile
        """The batch's profile, named on a board of several (the cancel goes through it)."""
        """The batch to cancel (not ``self.batch``: that is Textual's Widget.batch())."""
        self._send = send
        self._answered = False

    def compose(self) -> ComposeResult:
        batch = self.target
        counts = batch.request_counts
        facts = Text()
        for label, value in (
            *((("profile", safe_text(self.profile, 40)),) if self.profile else ()),
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

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            await self.action_confirm()
        else:
            self.action_keep()

    def action_keep(self) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(False)

    async def action_confirm(self) -> None:
        if self._answered:  # a second y while the first is on its way
            return
        self._answered = True
        sent = self._send() if self._send is not None else None
        if sent is not None:
            try:
                await asyncio.wait_for(sent.wait(), SEND_WAIT)
            except TimeoutError:
                pass  # still connecting: the row says "cancelling…" meanwhile
        self.dismiss(True)
