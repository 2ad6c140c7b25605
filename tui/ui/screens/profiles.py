"""Pick another profile without a restart."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.text.safe import safe_text


class ProfilePickerScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, names: list[str], current: str) -> None:
        super().__init__()
        self.names = names
        self.current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(Text(safe_text(name) + ("  (current)" if name == self.current else "")), id=name)
            for name in self.names
        ]
        with Vertical(id="picker"):
            yield Static("Switch profile", id="picker-title")
            if options:
                yield OptionList(*options, id="profiles")
            else:
                yield Static("No profiles in the config file.", markup=False)

    def on_mount(self) -> None:
        if self.names:
            option_list = self.query_one(OptionList)
            if self.current in self.names:
                option_list.highlighted = self.names.index(self.current)
            option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
