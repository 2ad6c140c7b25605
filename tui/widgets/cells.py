"""Table cells of one batch as Rich Text (never markup strings: ids and names come from the
gateway, and a "[red]" in a batch name must print as those five characters)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from tui.describe import status_glyph
from tui.humanize import ago, count, duration
from tui.monitor import CancelState, TrackedBatch
from tui.textsafe import safe_text, shorten_middle
from tui.widgets.palette import hue

STATUS_STYLES = {
    "validating": "",
    "in_progress": "bold",
    "finalizing": "bold",
    "cancelling": "italic",
    "completed": "green",
    "failed": "red",
    "expired": "yellow",
    "cancelled": "dim",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    compact: bool
    """Shown at 80 columns too; the rest only when the terminal is wide."""
    right: bool = False


MARK = "●"
"""A marked row's glyph: marks must not rely on colour."""

COLUMNS = (
    Column("mark", "", 1, True),
    Column("status", "STATUS", 13, True),
    Column("provider", "PROVIDER", 9, True),
    Column("id", "ID", 14, True),
    Column("name", "NAME", 18, False),
    Column("progress", "PROGRESS", 11, True),
    Column("pending", "PENDING", 8, True, right=True),
    Column("succeeded", "SUCCEEDED", 9, False, right=True),
    Column("failed", "FAILED", 7, True, right=True),
    Column("canceled", "CANCELED", 8, False, right=True),
    Column("rate", "RATE/m", 7, False, right=True),
    Column("eta", "ETA", 6, True, right=True),
    Column("age", "AGE", 6, False, right=True),
)


class BatchId(Text):
    """The id cell: remembers its batch key so the table can sort rows by the board's order."""

    def __init__(self, text: str, batch_key: tuple[str, str]) -> None:
        super().__init__(text, no_wrap=True, overflow="ellipsis")
        self.batch_key = batch_key


def progress_bar(fraction: float | None, width: int) -> Text:
    if fraction is None:
        return Text("—".center(width), style="dim")
    bar_width = max(width - 6, 2)
    filled = round(fraction * bar_width)
    pct = f"{fraction * 100:.0f}%".rjust(4)
    return Text.assemble(("█" * filled, "bold"), ("░" * (bar_width - filled), "dim"), " ", pct)


def _number(value: int | None, style: str = "") -> Text:
    return Text(count(value), style=style if value else "", justify="right")


def row_cells(
    tracked: TrackedBatch, now: float, id_width: int, columns: tuple[Column, ...], marked: bool = False
) -> tuple[Text, ...]:
    """The cells of one row, in the order of ``columns``."""
    batch = tracked.batch
    counts = batch.request_counts
    outcome = batch.outcome
    if tracked.gone:
        status = Text("? gone", style="dim italic")
    elif tracked.cancel_state is CancelState.SENDING:
        status = Text("□ cancelling…", style="italic")
    elif tracked.cancel_state is CancelState.FAILED and not batch.finished:
        status = Text("! cancel failed", style=hue("bold yellow"))
    else:
        status = Text(f"{status_glyph(batch)} {safe_text(batch.status_word, 30)}", style=hue(STATUS_STYLES.get(outcome, "")))
    stalled = tracked.stalled(now)
    eta = tracked.eta_seconds()
    rate = tracked.rate_per_minute()
    values = {
        "mark": Text(MARK if marked else " ", style="bold"),
        "status": status,
        "provider": Text(safe_text(batch.provider, 12)),
        "id": BatchId(shorten_middle(safe_text(batch.id), id_width), batch.key),
        "name": Text(safe_text(batch.name or "", 60), no_wrap=True, overflow="ellipsis"),
        "progress": progress_bar(counts.progress, 11),
        "pending": _number(counts.pending),
        "succeeded": _number(counts.succeeded),
        "failed": _number(counts.failed_count, hue("red")),
        "canceled": _number(counts.canceled_count),
        "rate": Text("—" if rate is None else f"{rate:,.0f}", justify="right"),
        "eta": Text("stall" if stalled else ("—" if eta is None else "<1s" if eta < 1 else duration(eta)),
                    style=hue("bold yellow") if stalled else "", justify="right"),
        "age": Text(ago(batch.created_at, now).removesuffix(" ago"), justify="right"),
    }
    # cell_padding is 0: each cell brings its own one-space gap on the side it is aligned to.
    return tuple(values[c.key] if c.key == "mark" else _gap(values[c.key], c.right) for c in columns)


def _gap(cell: Text, right: bool) -> Text:
    if right:
        cell.append(" ")
        return cell
    if isinstance(cell, BatchId):
        cell.plain = " " + cell.plain
        return cell
    return Text.assemble(" ", cell, no_wrap=True, overflow="ellipsis")
