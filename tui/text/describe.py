"""Words for batches, shared by the CLI and the TUI: status, progress, every field. No Textual.

Every string that came from the gateway passes through ``safe_text`` here.
"""

from __future__ import annotations

from tui.api import Batch
from tui.api.models import TIMESTAMP_FIELDS
from tui.text.humanize import ago, count, local_time, percent
from tui.text.safe import safe_text

STATUS_GLYPHS = {
    "validating": "○",
    "in_progress": "▶",
    "finalizing": "◑",
    "cancelling": "□",
    "completed": "✓",
    "failed": "✗",
    "expired": "⊘",
    "cancelled": "■",
    "deleted": "⌫",
}
UNKNOWN_GLYPH = "?"


def status_glyph(batch: Batch) -> str:
    return STATUS_GLYPHS.get(batch.outcome, UNKNOWN_GLYPH)


COUNTS_AT_END = "counts at end"
"""How a running batch of a provider that reports counts only when it ends reads."""


def progress_text(batch: Batch) -> str:
    counts = batch.request_counts
    if batch.counts_at_end:
        return COUNTS_AT_END
    if not counts.known:
        return "—"
    if not counts.total_known:
        return f"{count(counts.done)} done"
    return f"{percent(counts.progress)} of {count(counts.total)}"


def status_text(batch: Batch) -> str:
    outcome = batch.outcome
    word = safe_text(batch.status_shown, 40)
    return word if outcome == batch.status_word else f"{word}:{safe_text(outcome, 12)}"


def batch_detail_lines(batch: Batch, now: float) -> list[tuple[str, str]]:
    """(label, value) pairs of everything known about a batch, values terminal-safe."""
    c = batch.request_counts
    lines: list[tuple[str, str]] = [
        ("id", safe_text(batch.id)),
        ("provider", safe_text(batch.provider)),
        ("status", status_text(batch)),
    ]
    if batch.origin:  # a board of several profiles: the one it came through (and cancels through)
        lines.insert(0, ("profile", safe_text(batch.origin, 60)))
    if batch.name:
        lines.append(("name", safe_text(batch.name, 200)))
    progress = progress_text(batch)
    if batch.counts_at_end:
        progress += f" — {batch.traits.why}"
    lines += [
        ("progress", progress),
        ("total", count(c.total) if c.total_known else "—"),
        ("pending", count(c.pending)),
        ("succeeded", count(c.succeeded)),
        ("failed", count(c.failed_count)),
        ("canceled", count(c.canceled_count)),
        ("expired", count(c.expired_count)),
    ]
    for label in (
        "processing_status",
        "endpoint",
        "completion_window",
        "input_file_id",
        "output_file_id",
        "error_file_id",
        "results_url",
        "operation_name",
        "display_name",
    ):
        value = getattr(batch, label)
        if value:
            lines.append((label, safe_text(value, 300)))
    for label in TIMESTAMP_FIELDS:
        value = getattr(batch, label)
        if value:
            lines.append((label, f"{local_time(value)}  ({ago(value, now)})"))
    extra = batch.extra_fields
    models = [m for m in (batch.model, extra.model_asked, extra.model_used) if m]
    if models:
        lines.append(("model", safe_text(" → ".join(dict.fromkeys(models)), 200)))
    usage = batch.usage
    if usage is not None and usage.known:
        parts = [
            f"{count(n)} {label}"
            for label, n in (("in", usage.input_tokens), ("out", usage.output_tokens))
            if n is not None
        ]
        total = usage.total
        lines.append(("tokens", f"{count(total)}" + (f"  ({', '.join(parts)})" if parts else "")))
    if extra.latency is not None:
        lines.append(("latency", f"{extra.latency} ms"))
    for key, value in sorted(batch.metadata.items()):
        lines.append((f"metadata.{safe_text(key, 40)}", safe_text(value, 300)))
    if batch.errors and batch.errors.data:
        for item in batch.errors.data[:20]:
            where = f" (line {item.line})" if item.line is not None else ""
            lines.append(("error", safe_text(f"{item.code or 'error'}{where}: {item.message or ''}", 300)))
        if len(batch.errors.data) > 20:
            lines.append(("error", f"… and {len(batch.errors.data) - 20} more"))
    return lines
