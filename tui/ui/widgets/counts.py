"""The summary strip: totals over the batches shown, their change since the previous poll
and a per-minute rate. Updated in place: each tile keeps its widgets and only changes text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from tui.monitor import Summary, Totals
from tui.ui.widgets.palette import hue

TILES = (
    ("pending", "PENDING", ""),
    ("succeeded", "SUCCEEDED", "green"),
    ("failed", "FAILED", "red"),
    ("canceled", "CANCELED", ""),
    ("expired", "EXPIRED", "yellow"),
)


def compact(value: float) -> str:
    """``950``, ``12.4k``, ``3.1M``: rates must fit a tile at 80 columns."""
    magnitude = abs(value)
    if magnitude >= 999_500:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 9_999.5:
        return f"{value / 1_000:.0f}k"
    if magnitude >= 999.5:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}"


def _signed(value: float) -> str:
    if round(value) == 0:
        return "±0"
    text = compact(abs(value))
    return f"+{text}" if value > 0 else f"−{text}"


class CountTile(Widget):
    """One count: label, a large number, and "+12 · 40/m" beneath."""

    DEFAULT_CSS = """
    CountTile { width: 1fr; height: 3; padding: 0 1; }
    CountTile .label { color: $text-muted; }
    CountTile .value { text-style: bold; }
    CountTile .change { color: $text-muted; }
    """

    def __init__(self, name: str, label: str, style: str) -> None:
        super().__init__(id=f"count-{name}")
        self.count_name = name
        self._label = label
        self._style = hue(style)
        self._shown: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._label, classes="label", markup=False)
        yield Static("—", classes="value", markup=False)
        yield Static("", classes="change", markup=False)

    def show_total(self, total: int) -> None:
        """A total alone, nothing beneath (tokens: the gateway gives no history of them)."""
        self._update(compact(total) if total >= 1_000_000 else f"{total:,}", "")

    def show(self, total: float, change: float, per_minute: float | None) -> None:
        value = f"{round(total):,}"
        rate = "" if per_minute is None else f" · {compact(abs(per_minute))}/m"
        self._update(value, f"{_signed(change)}{rate}")

    def _update(self, value: str, below: str) -> None:
        if self._shown == (value, below):
            return
        self._shown = (value, below)
        # One line each, whatever the text: no layout pass (which repaints far more).
        self.query_one(".value", Static).update(Text(value, style=self._style), layout=False)
        self.query_one(".change", Static).update(below, layout=False)


class CountStrip(Horizontal):
    """Pending, succeeded, failed, canceled — and expired when there are any, and the
    tokens used when the gateway says (OpenAI's ``usage``)."""

    DEFAULT_CSS = """
    CountStrip { height: 3; }
    """

    def compose(self) -> ComposeResult:
        for name, label, style in TILES:
            yield CountTile(name, label, style)
        yield CountTile("tokens", "TOKENS", "")

    def on_mount(self) -> None:
        self.query_one("#count-expired").display = False
        self.query_one("#count-tokens").display = False

    def show(self, summary: Summary) -> None:
        totals, change = summary.totals, summary.change
        rates: Totals | None = summary.per_minute
        for tile in self.query(CountTile):
            name = tile.count_name
            if name == "tokens":
                continue
            tile.show(getattr(totals, name), getattr(change, name), None if rates is None else getattr(rates, name))
        expired = self.query_one("#count-expired")
        wanted = totals.expired > 0
        if expired.display != wanted:
            expired.display = wanted
        tokens = self.query_one("#count-tokens", CountTile)
        if summary.tokens is not None:
            tokens.show_total(summary.tokens)
        if tokens.display != (summary.tokens is not None):
            tokens.display = summary.tokens is not None
