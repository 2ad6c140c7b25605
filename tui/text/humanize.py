"""Short human forms of times, durations and counts, shared by the CLI and the TUI."""

from __future__ import annotations

import datetime as dt
import math


def duration(seconds: float | None) -> str:
    """``42s``, ``12m``, ``3h05m``, ``2d04h``; ``—`` when unknown."""
    if seconds is None or seconds != seconds:
        return "—"
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def short_duration(seconds: float | None) -> str:
    """The leading unit only, for narrow cells: ``42s``, ``12m``, ``3h``, ``2d``."""
    if seconds is None or seconds != seconds:
        return "—"
    seconds = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def minutes_at_least(seconds: float | None) -> str:
    """:func:`short_duration` that never counts seconds (``<1m``, ``12m``, ``3h``): for table
    cells that would otherwise change at every poll, and be repainted over SSH each time."""
    if seconds is None or seconds != seconds:
        return "—"
    return "<1m" if seconds < 60 else short_duration(seconds)


def ago(timestamp: float | None, now: float) -> str:
    """``12m ago``; ``in 5m`` for the future; ``—`` when unknown."""
    if timestamp is None:
        return "—"
    delta = now - timestamp
    if delta < 0:
        return f"in {duration(-delta)}"
    return f"{duration(delta)} ago"


def local_time(timestamp: float | None) -> str:
    """A unix timestamp as local ``2026-11-25 19:47:06``; ``—`` when unknown or absurd."""
    if timestamp is None:
        return "—"
    try:
        return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "—"


def count(value: int | None) -> str:
    """``1,830``; ``—`` when unknown."""
    return "—" if value is None else f"{value:,}"


def compact_count(value: int | None) -> str:
    """``9,999``, ``12.3k``, ``8.3M``, ``1.2B`` (token counts in a narrow column); ``—`` when unknown."""
    if value is None:
        return "—"
    if value < 10_000:
        return f"{value:,}"
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            shown = value / scale
            return f"{shown:.1f}{unit}" if shown < 100 else f"{shown:,.0f}{unit}"
    return f"{value:,}"  # pragma: no cover — every value >= 10,000 has a unit


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f}%"


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_duration(text: str, *, bare_seconds: bool = True) -> float:
    """Seconds from ``90s``, ``10m``, ``6h``, ``1d``, ``1w`` (and plain seconds such as ``45``
    unless ``bare_seconds`` is False). Raises ValueError for anything else, negative or not finite."""
    raw = text.strip().lower()
    unit = None
    if raw and raw[-1] in _DURATION_UNITS:
        unit = _DURATION_UNITS[raw[-1]]
        raw = raw[:-1].strip()
    if unit is None and not bare_seconds:
        raise ValueError(f"not a duration: {text!r}")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a duration: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a duration: {text!r} (must be 0 or more, and finite)")
    return value * (unit or 1.0)
