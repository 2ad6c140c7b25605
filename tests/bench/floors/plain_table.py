"""Floor: a plain Textual DataTable of ROWS rows of 11 columns of batch-like text.

    plain_table.py ROWS [--update N] [--every SECONDS]

With ``--update``, every SECONDS (default 2) it moves the counts of the top N rows and
rewrites their six moving cells (progress, pending, succeeded, failed, rate, ETA) with
``update_cell(..., update_width=False)``, as batchtop does for a batch whose counts moved.
It shows "rows ready" above the table once every row is in.
"""

import argparse
import random

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Static

COLUMNS = ("status", "provider", "id", "name", "progress", "pending", "succeeded", "failed", "canceled", "rate", "eta")
MOVING = ("progress", "pending", "succeeded", "failed", "rate", "eta")
WIDTHS = {"status": 13, "provider": 9, "id": 24, "name": 16, "progress": 11, "eta": 6}
STATUSES = ("in_progress", "completed", "failed", "validating", "cancelled")
PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
JOBS = ("nightly-eval", "embeddings-backfill", "support-triage", "translation-de", "doc-qa")


class Batch:
    def __init__(self, i: int, rng: random.Random) -> None:
        self.fixed = {
            "status": rng.choice(STATUSES),
            "provider": rng.choice(PROVIDERS),
            "id": f"batch_{i:06d}{rng.getrandbits(64):016x}",
            "name": rng.choice(JOBS),
            "canceled": "0",
        }
        self.total = rng.randint(500_000, 5_000_000)
        self.done = rng.randint(0, self.total // 2)
        self.rate = rng.uniform(50, 400)

    def moving(self) -> dict[str, str]:
        fraction = self.done / self.total
        filled = round(fraction * 5)
        left = (self.total - self.done) / self.rate
        return {
            "progress": "█" * filled + "░" * (5 - filled) + f" {fraction * 100:3.0f}%",
            "pending": f"{self.total - self.done:,}",
            "succeeded": f"{self.done - self.done // 100:,}",
            "failed": f"{self.done // 100:,}",
            "rate": f"{self.rate * 60:,.0f}",
            "eta": f"{left / 3600:.0f}h" if left >= 3600 else f"{left / 60:.0f}m",
        }

    def cells(self) -> list[str]:
        values = {**self.fixed, **self.moving()}
        return [values[name] for name in COLUMNS]


class PlainTable(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, rows: int, update: int, every: float) -> None:
        super().__init__()
        self.animation_level = "none"
        self.update, self.every = update, every
        rng = random.Random(7)
        self.batches = [Batch(i, rng) for i in range(rows)]

    def compose(self) -> ComposeResult:
        yield Static("loading", id="state")
        yield DataTable(cursor_type="row", zebra_stripes=False, cell_padding=0)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name.upper(), key=name, width=WIDTHS.get(name, 8))
        self.keys = table.add_rows(batch.cells() for batch in self.batches)
        self.query_one("#state", Static).update("rows ready")
        if self.update:
            self.set_interval(self.every, self.change)

    def change(self) -> None:
        table = self.query_one(DataTable)
        for key, batch in zip(self.keys[: self.update], self.batches):
            batch.done = min(batch.total, batch.done + round(batch.rate * self.every))
            for name, value in batch.moving().items():
                table.update_cell(key, name, value, update_width=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--update", type=int, default=0)
    parser.add_argument("--every", type=float, default=2.0)
    args = parser.parse_args()
    PlainTable(args.rows, args.update, args.every).run()
