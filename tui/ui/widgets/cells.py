"""Table cells of one batch as Rich Text (never markup strings: ids and names come from the
gateway, and a "[red]" in a batch name must print as those five characters)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text

from tui.monitor import CancelState, TrackedBatch
from tui.monitor.history import TREND_POLLS
from tui.monitor.signals import SignalKind, SignalRules, bad_outcome, signals_of
from tui.text.describe import status_glyph
from tui.text.humanize import ago, compact_count, count, duration, minutes_at_least, short_duration
from tui.text.safe import safe_text, shorten_middle
from tui.ui.widgets.palette import hue

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
    wide_width: int | None = None
    """The width to grow to when the terminal has room (a provider's own status)."""


MARK = "●"
"""A marked row's glyph: marks must not rely on colour."""

COLUMNS = (
    Column("mark", "", 1, True),
    Column("status", "STATUS", 13, True, wide_width=26),
    Column("provider", "PROVIDER", 9, True),
    Column("id", "ID", 14, True),
    Column("name", "NAME", 18, False),
    Column("progress", "PROGRESS", 11, True),
    Column("pending", "PENDING", 8, True, right=True),
    Column("succeeded", "SUCCEEDED", 9, False, right=True),
    Column("failed", "FAILED", 7, True, right=True),
    Column("canceled", "CANCELED", 8, False, right=True),
    Column("tokens", "TOKENS", 7, False, right=True),
    Column("rate", "RATE/m", 7, False, right=True),
    Column("eta", "ETA", 6, True, right=True),
    Column("age", "AGE", 6, False, right=True),
    Column("trend", "TREND", 8, False),
)


OPTIONAL = ("succeeded", "canceled", "name", "rate", "age", "trend")
"""The columns shown when there is room, most wanted first: the counts the product is about,
then the batch's name, its rate, its age and its throughput over the last polls."""
OPTIONAL_WITH_TOKENS = (*OPTIONAL, "tokens")
"""For a gateway whose batches carry OpenAI's ``usage`` (api = "openai"): tokens last."""
MIN_ID = 24
"""Ids keep at least this many characters before an optional column is added or widened."""
MAX_ID = 40
SCROLLBAR = 2
"""The table's vertical scrollbar, which the columns must leave room for."""


@dataclass(frozen=True)
class ColumnPlan:
    columns: tuple[Column, ...]
    widths: dict[str, int]
    """Every column's width, the id's included (without the one-space gap)."""

    def render_width(self, key: str) -> int:
        return self.widths[key] + (key != "mark")

    @property
    def total(self) -> int:
        return sum(self.render_width(c.key) for c in self.columns)


ORIGIN_TAG = Column("origin", "", 1, True)
"""A board of several profiles at 80 columns: each row's profile as a one-letter tag (the
header says which letter is which profile)."""
ORIGIN_MAX = 12


def origin_column(names: Iterable[str]) -> Column:
    """The PROFILE column of a board of several profiles, as wide as their longest name."""
    longest = max((len(n) for n in names), default=4)
    return Column("origin", "PROFILE", min(max(longest, 7), ORIGIN_MAX), False)


def plan_columns(width: int, *, tokens: bool = False, origins: Iterable[str] = ()) -> ColumnPlan:
    """The columns for a table ``width`` cells wide (scrollbar included), so that they all
    fit — a table wider than the terminal would hide its right-hand columns behind a
    horizontal scrollbar. The compact columns always; then each optional column, most wanted
    first, that leaves the id ``MIN_ID`` characters; then room to spare to columns that can
    use more (a provider's own status such as JOB_STATE_PAUSED), and the rest to the id.

    Given the profiles of a board of several (``origins``), a PROFILE column comes first of
    the optional ones; where it does not fit, a one-letter tag column instead."""

    def cost(column: Column) -> int:
        return column.width + (column.key != "mark")

    names = list(origins)
    every: tuple[Column, ...] = COLUMNS
    chosen = {c.key for c in COLUMNS if c.compact}
    optional = list(OPTIONAL_WITH_TOKENS if tokens else OPTIONAL)
    if names:
        full = origin_column(names)
        used = sum(cost(c) for c in COLUMNS if c.key in chosen and c.key != "id") + 1 + SCROLLBAR
        origin = full if width - used - cost(full) >= MIN_ID else ORIGIN_TAG
        every = (COLUMNS[0], origin, *COLUMNS[1:])
        chosen.add("origin")
    used = sum(cost(c) for c in every if c.key in chosen and c.key != "id") + 1 + SCROLLBAR
    by_key = {c.key: c for c in every}
    for key in optional:
        if width - used - cost(by_key[key]) >= MIN_ID:
            chosen.add(key)
            used += cost(by_key[key])
    columns = tuple(c for c in every if c.key in chosen)
    spare = max(width - used - MIN_ID, 0)
    widths: dict[str, int] = {}
    for column in columns:
        extra = min(max((column.wide_width or column.width) - column.width, 0), spare)
        spare -= extra
        used += extra
        widths[column.key] = column.width + extra
    widths["id"] = min(max(width - used, 10), MAX_ID)
    return ColumnPlan(columns, widths)


SPARKS = "▁▂▃▄▅▆▇█"


def trend_cell(rates: list[float]) -> Text:
    """Requests finished per poll over the last polls, as eight-level blocks (``▃▅▆▆▇█▇▆``),
    scaled to their own peak; empty until two polls, for finished and counts-at-end batches."""
    if len(rates) < 2:
        return Text("")
    peak = max(rates)
    if peak <= 0:
        return Text(SPARKS[0] * len(rates), style="dim")
    return Text("".join(SPARKS[min(int(r / peak * (len(SPARKS) - 1) + 0.5), len(SPARKS) - 1)] for r in rates))


def trend_of(tracked: TrackedBatch) -> list[float]:
    batch = tracked.batch
    if batch.finished or batch.counts_at_end:
        return []
    return tracked.history.done_rates_per_minute(TREND_POLLS)


def progress_bar(fraction: float | None, width: int) -> Text:
    if fraction is None:
        return Text("—".center(width), style="dim")
    bar_width = max(width - 6, 2)
    filled = round(fraction * bar_width)
    pct = f"{fraction * 100:.0f}%".rjust(4)
    return Text.assemble(("█" * filled, "bold"), ("░" * (bar_width - filled), "dim"), " ", pct)


def counts_at_end_cell(running_for: float | None) -> Text:
    """PROGRESS of a running batch whose provider reports counts only when it ends: no bar
    (its 0 % would be false), but how long it has been running."""
    ran = "" if running_for is None else f" {minutes_at_least(running_for)}"
    return Text(f"at end{ran}", style="dim italic", no_wrap=True, overflow="ellipsis")


def time_left_cell(time_left: float | None) -> Text:
    """ETA of such a batch: it ends by ``expires_at`` at the latest ("≤21h")."""
    if time_left is None:
        return Text("—", justify="right")
    return Text(f"≤{short_duration(max(time_left, 60))}", justify="right")


def eta_text(eta: float | None) -> str:
    """``~35m``, ``~4h50m``, ``~11h`` (six cells at most): a rate smoothed over minutes is an
    estimate, and says so."""
    if eta is None:
        return "—"
    if eta < 1:
        return "<1s"
    text = duration(eta)
    return f"~{text}" if len(text) <= 5 else f"~{short_duration(eta)}"


def _age(created_at: float | None, now: float) -> str:
    """AGE at minute resolution (``<1m``, ``12m``, ``3h05m``): a cell that counted seconds
    would be repainted at every poll."""
    if created_at is not None and now - created_at < 60:  # a clock a little behind, too
        return "<1m"
    return ago(created_at, now).removesuffix(" ago")


def _number(value: int | None, style: str = "") -> Text:
    return Text(count(value), style=style if value else "", justify="right")


SIGNAL_STYLES = {SignalKind.FAILING: "bold red"}
"""A signal's look in the STATUS cell (the rest: bold yellow). Always led by "!"."""
WIDE_SIGNAL = 22
"""STATUS cells at least this wide say the state and "left" too (``! STUCK finalizing 40m``)."""


def row_cells(
    tracked: TrackedBatch,
    now: float,
    id_width: int,
    columns: tuple[Column, ...],
    marked: bool = False,
    rules: SignalRules | None = None,
    status_width: int = 13,
    origin: str = "",
) -> tuple[Text, ...]:
    """The cells of one row, in the order of ``columns``; ``origin`` is what the PROFILE
    column says (its name, or its one-letter tag)."""
    batch = tracked.batch
    counts = batch.request_counts
    outcome = batch.outcome
    rules = rules or SignalRules()
    signals = () if batch.finished else signals_of(tracked, now, rules)
    if tracked.gone:
        status = Text("? gone", style="dim italic")
    elif tracked.cancel_state is CancelState.SENDING:
        status = Text(f"□ {CancelState.SENDING.words}", style="italic")
    elif tracked.cancel_state is CancelState.FAILED and not batch.finished:
        status = Text("! cancel failed", style=hue("bold yellow"))
    elif signals:
        # What needs a person replaces the status (which the detail screen still shows).
        signal = signals[0]
        status = Text(
            f"! {signal.text(now, short=status_width < WIDE_SIGNAL)}",
            style=hue(SIGNAL_STYLES.get(signal.kind, "bold yellow")),
            no_wrap=True,
            overflow="ellipsis",
        )
    elif outcome == "completed" and bad_outcome(batch, rules):
        # Completed, but nothing succeeded or too much failed: never a green success.
        status = Text(
            f"! {safe_text(batch.status_shown, 40)}", style=hue("bold red"), no_wrap=True, overflow="ellipsis"
        )
    else:
        # As sent: a provider's own state (JOB_STATE_PAUSED) keeps its case.
        status = Text(
            f"{status_glyph(batch)} {safe_text(batch.status_shown, 40)}",
            style=hue(STATUS_STYLES.get(outcome, "")),
            no_wrap=True,
            overflow="ellipsis",
        )
    stalled = any(signal.kind is SignalKind.STALLED for signal in signals)
    eta = tracked.eta_seconds()
    rate = tracked.rate_per_minute()
    at_end = batch.counts_at_end
    values = {
        # An empty mark is unstyled: it then shares one escape sequence with the gap after it.
        "mark": Text(MARK, style="bold") if marked else Text(" "),
        "status": status,
        "origin": Text(origin, no_wrap=True, overflow="ellipsis"),
        "provider": Text(safe_text(batch.provider, 12)),
        "id": Text(shorten_middle(safe_text(batch.id), id_width), no_wrap=True, overflow="ellipsis"),
        "name": Text(safe_text(batch.name or "", 60), no_wrap=True, overflow="ellipsis"),
        "progress": counts_at_end_cell(tracked.running_for(now)) if at_end else progress_bar(counts.progress, 11),
        "pending": _number(counts.pending),
        "succeeded": _number(counts.succeeded),
        "failed": _number(counts.failed_count, hue("red")),
        "canceled": _number(counts.canceled_count),
        "tokens": Text(compact_count(batch.usage.total if batch.usage else None), justify="right"),
        "rate": Text("—" if rate is None else f"{rate:,.0f}", justify="right"),
        "eta": time_left_cell(tracked.time_left(now))
        if at_end
        else Text(
            "stall" if stalled else eta_text(eta),
            style=hue("bold yellow") if stalled else "",
            justify="right",
        ),
        "age": Text(_age(batch.created_at, now), justify="right"),
        "trend": trend_cell(trend_of(tracked)) if any(c.key == "trend" for c in columns) else Text(""),
    }
    # cell_padding is 0: each cell brings its own one-space gap on the side it is aligned to.
    return tuple(values[c.key] if c.key == "mark" else _gap(values[c.key], c.right) for c in columns)


def _gap(cell: Text, right: bool) -> Text:
    if right:
        cell.append(" ")
        return cell
    return Text.assemble(" ", cell, no_wrap=True, overflow="ellipsis")
