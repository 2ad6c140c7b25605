"""Help generated from the bindings of the screen it was opened on: batchtop's own keys
first, in groups, then the keys that move around (the table's, Textual's) last."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {"question_mark": "?", "slash": "/", "space": "space", "escape": "esc", "enter": "enter"}

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Board", ("details", "close", "app.poll_now", "app.toggle_pause", "switch_profile", "audit", "help", "quit")),
    ("Marks and cancel", ("mark", "mark_all", "clear_marks", "cancel")),
    ("View", ("filter", "live_only", "sort")),
)
"""batchtop's own keys by what they are for, in the order shown (by action name)."""
MOVING = "Moving around"
"""The heading of every other key: the table's motion keys, focus, copy, the palette."""

KeyRow = tuple[str, str]
"""(keys, description)"""


def describe_keys(screen: Screen) -> list[tuple[str, list[KeyRow]]]:
    """(heading, rows) for every binding active on ``screen`` and the app, deduplicated;
    headings without a key are left out.

    A key that the focused widget takes for itself but the screen binds too (enter selects
    the table's row, which opens the details) is listed under the screen's meaning. Of the
    keys for one thing, batchtop's own come before Textual's (q before ctrl+q)."""
    own = {binding.key: binding for binding in Binding.make_bindings(screen.BINDINGS)}
    ours = {*own, *(binding.key for binding in Binding.make_bindings(screen.app.BINDINGS))}
    rows: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        mine = own.get(key)
        if mine is not None and mine.action != binding.action and screen.check_action(mine.action, ()) is not False:
            binding = mine
        action, keys = rows.setdefault(binding.description or binding.action, (binding.action, []))
        keys.append((key, binding.key_display or KEY_NAMES.get(key, key)))
    places = {action: (i, j) for i, (_, actions) in enumerate(SECTIONS) for j, action in enumerate(actions)}

    def place(action: str) -> tuple[int, int]:
        """(section, position in it); every other key goes last, in the order Textual gives."""
        return places.get(action, (len(SECTIONS), 0))

    sections: list[tuple[str, list[KeyRow]]] = [(title, []) for title, _ in (*SECTIONS, (MOVING, ()))]
    for description, (action, keys) in sorted(rows.items(), key=lambda row: place(row[1][0])):
        shown: list[str] = []
        for _, name in sorted(keys, key=lambda pair: pair[0] not in ours):
            if name not in shown:
                shown.append(name)
        sections[place(action)[0]][1].append((" ".join(shown), description))
    return [(title, section_rows) for title, section_rows in sections if section_rows]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list[KeyRow]]]) -> None:
        super().__init__()
        self.sections = sections

    @property
    def rows(self) -> list[KeyRow]:
        """Every (keys, description), in the order shown."""
        return [row for _, rows in self.sections for row in rows]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            for title, rows in self.sections:
                yield Static(Text(title, style="bold"))
                table = Table.grid(padding=(0, 2))
                table.add_column(style="bold", min_width=16)
                table.add_column()
                for keys, description in rows:
                    table.add_row(Text(keys), Text(description))
                yield Static(table, classes="help-keys")
            yield Static(Text("Reading the table", style="bold"))
            yield Static(
                Text(
                    "at end 2h  ≤20h   running 2 h; its provider (Anthropic, Bedrock) reports counts "
                    "only when the batch ends, which it does by expires_at, in 20 h at most\n"
                    "—                 not known yet (Bedrock and Gemini lists carry no counts)\n"
                    "stall             no progress for 10 minutes"
                )
            )
            yield Static(Text("esc closes this help · ctrl+p opens the command palette", style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
