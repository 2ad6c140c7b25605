"""Confirmation by typing: the number of batches for a bulk cancel, or the end of the id
for a protected profile. A wrong answer, or enter with nothing typed, sends nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.api import Batch
from tui.text.humanize import count
from tui.text.safe import safe_text

SHOWN_IDS = 5


def describe_targets(
    batches: list[Batch], skipped: list[Batch], *, read_only: Sequence[Batch] = (), by_profile: bool = False
) -> Table:
    """What will be cancelled and what will not: count, profiles (on a board of several),
    providers, requests dropped, ids. ``read_only`` are those of ``skipped`` that belong to a
    read-only profile."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    if by_profile:
        profiles = Counter(b.origin for b in batches)
        table.add_row(
            "profiles",
            Text(
                ", ".join(f"{safe_text(p, 20)} ({n})" for p, n in profiles.items())
                + ("  — each through its own key" if len(profiles) > 1 else "")
            ),
        )
    providers = Counter(b.provider for b in batches)
    table.add_row("providers", Text(", ".join(f"{safe_text(p, 20)} ({n})" for p, n in sorted(providers.items()))))
    pending = [b.request_counts.pending for b in batches]
    known = sum(p for p in pending if p is not None)
    unknown = sum(1 for p in pending if p is None)
    dropped = f"{count(known)} pending requests"
    if unknown:
        dropped += f", plus those of {unknown} batch(es) whose counts are unknown"
    table.add_row("dropped", Text(dropped))
    for i, batch in enumerate(batches[:SHOWN_IDS]):
        name = f"  “{safe_text(batch.name, 24)}”" if batch.name else ""
        where = f"{safe_text(batch.origin, 20)}/" if by_profile else ""
        table.add_row(
            "batches" if i == 0 else "",
            Text(f"{where}{safe_text(batch.provider, 12)} {safe_text(batch.id, 80)}{name}"),
        )
    if len(batches) > SHOWN_IDS:
        table.add_row("", Text(f"… and {len(batches) - SHOWN_IDS} more"))
    locked = {b.key for b in read_only}
    others = [b for b in skipped if b.key not in locked]
    if others:
        table.add_row(
            "skipped", Text(f"{len(others)} marked batch(es) already finished or cancelling: nothing is sent for them")
        )
    if locked:
        names = ", ".join(sorted({b.origin for b in read_only}))
        table.add_row(
            "skipped" if not others else "",
            Text(f"{len(locked)} marked batch(es) of read-only {safe_text(names, 60)}: nothing is sent for them"),
        )
    return table


class TypedConfirmScreen(ModalScreen[bool]):
    """True only when the person typed ``expected`` and pressed enter."""

    BINDINGS = [Binding("escape", "keep", "Keep running")]

    def __init__(self, *, title: str, facts: RenderableType, prompt: str, expected: str) -> None:
        super().__init__()
        self.title_text = title
        self.facts = facts
        self.prompt = prompt
        self.expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(self.facts, id="dialog-facts")
            yield Static(
                "Requests already done are kept; the pending ones are dropped. This cannot be undone.",
                id="dialog-explain",
                markup=False,
            )
            yield Static(self.prompt, id="typed-prompt", markup=False)
            typed = Input(
                placeholder=f"type {self.expected}, then enter · esc keeps them running", id="typed", max_length=64
            )
            typed.cursor_blink = False
            yield typed
            yield Static("", id="typed-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        if answer == self.expected:
            self.dismiss(True)
            return
        error = self.query_one("#typed-error", Static)
        if answer:
            error.update(f"“{safe_text(answer, 20)}” is not {self.expected}: nothing was sent.")
        else:
            error.update(f"Type {self.expected} to confirm, or press esc.")
        event.input.value = ""

    def action_keep(self) -> None:
        self.dismiss(False)
