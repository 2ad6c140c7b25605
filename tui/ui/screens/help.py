"""Help generated from the bindings of the screen it was opened on."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {"question_mark": "?", "slash": "/", "space": "space", "escape": "esc", "enter": "enter"}


def describe_keys(screen: Screen) -> list[tuple[str, str]]:
    """(keys, description) of every binding active on ``screen`` and the app, deduplicated."""
    rows: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        description = active.binding.description or active.binding.action
        shown = active.binding.key_display or KEY_NAMES.get(key, key)
        rows.setdefault(description, [])
        if shown not in rows[description]:
            rows[description].append(shown)
    return [(" ".join(keys), description) for description, keys in rows.items()]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for keys, description in self.rows:
            table.add_row(Text(keys), Text(description))
        with VerticalScroll(id="help"):
            yield Static(Text("Keys", style="bold"))
            yield Static(table)
            yield Static(Text("Reading the table", style="bold"))
            yield Static(Text(
                "at end 2h  ≤20h   running 2 h; its provider (Anthropic, Bedrock) reports counts "
                "only when the batch ends, which it does by expires_at, in 20 h at most\n"
                "—                 not known yet (Bedrock and Gemini lists carry no counts)\n"
                "stall             no progress for 10 minutes"))
            yield Static(Text("esc closes this help · ctrl+p opens the command palette", style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
