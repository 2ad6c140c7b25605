"""Alert sinks for people who are not looking at the board: the terminal bell, desktop
notifications through the terminal, a command per event, a webhook. No Textual."""

from tui.alerts.sinks import AlertSinks, is_terminal

__all__ = ["AlertSinks", "is_terminal"]
