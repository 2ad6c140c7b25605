"""A bulk cancel in progress, then its summary: accepted, refused (why), failed (retry)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.api import Batch
from tui.cancel.send import CancelOutcome, CancelReport
from tui.text.cancel_words import OUTCOME_GLYPHS
from tui.text.safe import safe_text
from tui.ui.widgets.palette import hue

OUTCOME_STYLES = {"accepted": "green", "refused": "red", "failed": "yellow"}


class CancelProgressScreen(ModalScreen[list[Batch] | None]):
    """Dismissed with the batches to send again (``r``), or None."""

    BINDINGS = [
        Binding("escape,enter", "close", "Close"),
        Binding("r", "retry", "Retry failed"),
    ]

    def __init__(self, batches: list[Batch]) -> None:
        super().__init__()
        self.batches = batches
        self.outcomes: list[CancelOutcome] = []
        self.report: CancelReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="progress-title")
            with VerticalScroll(id="progress-lines"):
                yield Static(id="progress-body")
            yield Static(id="progress-hint", markup=False)

    def on_mount(self) -> None:
        self._show_state()

    def outcome_arrived(self, outcome: CancelOutcome) -> None:
        self.outcomes.append(outcome)
        self._show_state()

    def finished(self, report: CancelReport) -> None:
        self.report = report
        self.outcomes = list(report.outcomes)
        self._show_state()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return bool(self.report and self.report.failed)
        if action == "close":
            return self.report is not None  # the summary is read before it goes
        return True

    def _show_state(self) -> None:
        total = len(self.batches)
        if self.report is None:
            title = Text(f"Cancelling {total} batch(es)… {len(self.outcomes)} of {total} answered", style="bold")
            hint = "Each batch gets exactly one request, at most 8 at a time."
        else:
            title = Text(f"Cancel summary: {self.report.summary()}", style="bold")
            hint = "enter or esc closes"
            if self.report.failed:
                hint = f"r retries the {len(self.report.failed)} that failed · " + hint
            if self.report.audit_error:
                hint = f"{self.report.audit_error}; the rest were not sent · " + hint
        body = Text()
        for outcome in self.outcomes:
            glyph, style = OUTCOME_GLYPHS[outcome.outcome], OUTCOME_STYLES[outcome.outcome]
            if body:
                body.append("\n")
            body.append(f"{glyph} {outcome.outcome:<8} ", style=hue(style))
            body.append(f"{safe_text(outcome.batch.provider, 12)} {safe_text(outcome.batch.id, 70)}")
            if outcome.outcome == "accepted" and outcome.answer is not None:
                body.append(f" → {safe_text(outcome.answer.status_shown, 20)}")
            elif outcome.message:
                body.append(f" — {safe_text(outcome.message, 160)}")
                if outcome.outcome == "failed":
                    body.append(f" ({outcome.sent_words})")
        waiting = total - len(self.outcomes)
        if waiting and self.report is None:
            body.append(f"\n… {waiting} waiting", style="dim")
        self.query_one("#progress-title", Static).update(title)
        self.query_one("#progress-body", Static).update(body)
        self.query_one("#progress-hint", Static).update(hint)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_retry(self) -> None:
        if self.report and self.report.failed:
            self.dismiss([o.batch for o in self.report.failed])
