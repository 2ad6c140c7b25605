"""``L``: this session's own cancel attempts, as written to the audit log."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.cancel.audit import AuditRecord
from tui.text.humanize import local_time
from tui.text.safe import safe_text


class AuditScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,L", "dismiss", "Close")]

    def __init__(self, records: list[AuditRecord], path: str) -> None:
        super().__init__()
        self.records = records
        self.path = path

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="audit"):
            yield Static(Text(f"This session's cancel attempts ({len(self.records)})", style="bold"))
            if not self.records:
                yield Static("None yet.", markup=False)
            else:
                table = Table.grid(padding=(0, 1))
                for _ in range(4):
                    table.add_column(no_wrap=True)
                table.add_column(overflow="fold")
                several = len({record.profile for record in self.records}) > 1  # a board of several
                for record in self.records:
                    where = f"{safe_text(record.profile, 24)}/" if several else ""
                    table.add_row(
                        Text(local_time(record.timestamp).split(" ")[-1]),
                        Text(safe_text(record.outcome, 10)),
                        Text(where + safe_text(record.provider, 12)),
                        Text(safe_text(record.batch_id, 80)),
                        Text(safe_text(record.message or record.status_after or "", 120)),
                    )
                yield Static(table)
            yield Static(Text(f"All attempts, every session: batchtop audit · {safe_text(self.path)}", style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
