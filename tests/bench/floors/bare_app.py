"""Floor: the least a Textual app costs here — a Static saying "ready" and a Footer.

Run under the same pty as batchtop; its start-up to first paint, idle CPU and idle bytes
are what any Textual app pays, so batchtop's figures are also shown as ratios to these.
"""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class BareApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self) -> None:
        super().__init__()
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield Static("ready")
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
