"""Fixtures of the benchmarks: the figures collected over the session (printed as one
table at the end, and written to last-run.md and a JSON file), processes on a pty and
simulators that are always cleaned up, and the floors, each measured once per run."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest
import textual

from tui.sim import SimServer

from .ptyrun import Figure, PtyProcess, RequestLog, floor_argv, measure, num

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SETTLE = 10.0
"""Seconds after the table is complete before anything is measured (the start-up walk)."""
WINDOW = 20.0
"""Seconds of each measuring window."""
FLOOR_SETTLE = 5.0
READY = r"\bready\b"


class Results:
    """Every figure of the run, in the order measured; the table is printed at the end."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.started = time.monotonic()
        self.date = datetime.now().astimezone()
        self.load_before = os.getloadavg()[0]

    def add(self, figure: Figure) -> Figure:
        self.figures = [f for f in self.figures if f.key != figure.key] + [figure]
        return figure

    def check(self, *figures: Figure) -> None:
        """Fail the test if any of its figures missed its target (after all were recorded)."""
        missed = [f for f in figures if f.met is False]
        if missed:
            pytest.fail(self.missed_text(missed), pytrace=False)

    @staticmethod
    def missed_text(missed: list[Figure]) -> str:
        return "missed: " + "; ".join(
            f"{f.name} = {num(f.value)} {f.unit} (target {f.target_text()}"
            + (f", ratio {num(f.ratio)}×" if f.ratio is not None else "")
            + ")"
            for f in missed
        )

    # -- output ----------------------------------------------------------------------

    def header(self) -> str:
        cpu = _cpu_model()
        return (
            f"batchtop bench · {self.date:%Y-%m-%d %H:%M %Z} · {os.cpu_count()} cores"
            + (f" ({cpu})" if cpu else "")
            + f" · Python {platform.python_version()} · Textual {textual.__version__}"
            + f" · {platform.system()} {platform.release()} · run took {time.monotonic() - self.started:.0f} s"
            + f" · load average {self.load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
        )

    def rows(self) -> list[list[str]]:
        rows = []
        for f in sorted(self.figures, key=lambda f: f.key.split(".")[0]):
            met = {True: "yes", False: "NO", None: "—"}[f.met]
            value = f"{num(f.value)} {f.unit}".rstrip() if f.value is not None else "not measured"
            floor = f"{num(f.floor)} {f.unit}".rstrip() if f.floor is not None else "—"
            ratio = f"{num(f.ratio)}×" if f.ratio is not None else "—"
            rows.append([f.name, value, floor, ratio, f.target_text(), met, f.note])
        return rows

    def text(self) -> str:
        head = ["figure", "value", "floor", "ratio", "target", "met?", "how"]
        rows = self.rows()
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
        lines = [self.header(), ""]
        for r in [head, *rows]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[6])
            if r is head:
                lines.append("  ".join("-" * w for w in widths) + "  " + "---")
        return "\n".join(lines)

    def markdown(self) -> str:
        head = ["figure", "value", "floor", "ratio", "target", "met?", "how"]
        lines = [
            "# batchtop benchmarks: last run",
            "",
            self.header(),
            "",
            "Command: `.venv/bin/python -m pytest -m bench -s -p no:cacheprovider tests/bench` "
            "(see tests/bench/README.md for what each figure means).",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        for r in self.rows():
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        return "\n".join(lines) + "\n"

    def report(self) -> None:
        if not self.figures:
            return
        text = self.text()
        print("\n\n" + text + "\n", flush=True)
        letters = {f.key.split(".")[0] for f in self.figures}
        complete = letters >= set("abcdef")
        if complete:
            (HERE / "last-run.md").write_text(self.markdown())
        data = {
            "header": self.header(),
            "date": self.date.isoformat(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "textual": textual.__version__,
            "figures": [
                {**asdict(f), "ratio": f.ratio, "met": f.met, "target_text": f.target_text()} for f in self.figures
            ],
        }
        path = Path(tempfile.gettempdir()) / f"batchtop-bench-{self.date:%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(data, indent=2))
        if complete:
            print(f"written: {HERE / 'last-run.md'} and {path}", flush=True)
        else:
            print(f"written: {path} (a partial run: last-run.md left as it was)", flush=True)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


@pytest.fixture(scope="session")
def results() -> Iterator[Results]:
    collected = Results()
    yield collected
    collected.report()


@pytest.fixture(scope="session")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOME and XDG dirs of every process the benchmarks start: no user config is read."""
    return tmp_path_factory.mktemp("bench-home")


Spawn = Callable[..., PtyProcess]


@pytest.fixture
def spawn(bench_home: Path) -> Iterator[Spawn]:
    """Start a command on a pty (``spawn(argv, cols=120, rows=40)``); all are ended after the test."""
    started: list[PtyProcess] = []

    def start(argv: list[str], *, cols: int = 120, rows: int = 40) -> PtyProcess:
        proc = PtyProcess(argv, cols=cols, rows=rows, home=bench_home, cwd=str(REPO))
        started.append(proc)
        return proc.start()

    try:
        yield start
    finally:
        for proc in started:
            proc.close()


@pytest.fixture
def make_sim() -> Iterator[Callable[..., tuple[SimServer, RequestLog]]]:
    """Start a simulator with a request log (``make_sim(**SimServer options)``); stopped after the test."""
    servers: list[SimServer] = []

    def make(**options) -> tuple[SimServer, RequestLog]:
        sim = SimServer(**options).start()
        servers.append(sim)
        return sim, RequestLog(sim)

    try:
        yield make
    finally:
        for sim in servers:
            sim.stop()


class Floors:
    """What a bare Textual app and a plain DataTable cost on the same pty, measured once
    per run, the first time a figure needs them."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._cache: dict[tuple, dict[str, float]] = {}

    def _run(self, key: tuple, argv: list[str], ready: str, cols: int, rows: int, every: float | None = None):
        if key in self._cache:
            return self._cache[key]
        with PtyProcess(argv, cols=cols, rows=rows, home=self.home, cwd=str(REPO)) as proc:
            proc.wait_for(ready, 120)
            time.sleep(FLOOR_SETTLE)
            window = measure(proc, WINDOW)
            found = {
                "cpu_percent": window.cpu_percent,
                "bytes_per_second": window.bytes_per_second,
                "rss_mb": proc.rss_mb(),
            }
            if every:
                found["bytes_per_update"] = window.bytes_written / (window.seconds / every)
        self._cache[key] = found
        return found

    def bare_idle(self) -> dict[str, float]:
        return self._run(("bare",), floor_argv("bare_app.py"), READY, 120, 40)

    def table_idle(self, rows: int) -> dict[str, float]:
        return self._run(("table", rows), floor_argv("plain_table.py", str(rows)), r"rows ready", 120, 40)

    def table_busy(self, rows: int, update: int, cols: int, height: int, every: float) -> dict[str, float]:
        argv = floor_argv("plain_table.py", str(rows), "--update", str(update), "--every", f"{every:g}")
        return self._run(("busy", rows, update, cols, height), argv, r"rows ready", cols, height, every)

    def polling_idle(self, base_url: str, interval: float) -> dict[str, float]:
        """A bare Textual app making batchtop's idle requests (floors/polling_app.py)."""
        argv = floor_argv("polling_app.py", base_url, "--interval", f"{interval:g}")
        return self._run(("polling", base_url, interval), argv, READY, 120, 40)

    def bare_start(self, starts: int = 3) -> float:
        """Median seconds from spawn to "ready" visible on the pty."""
        key = ("bare-start", starts)
        if key not in self._cache:
            times = []
            for _ in range(starts):
                with PtyProcess(floor_argv("bare_app.py"), cols=120, rows=40, home=self.home, cwd=str(REPO)) as proc:
                    times.append(proc.wait_for(READY, 60) - proc.spawned_at)
            self._cache[key] = {"median": statistics.median(times), "all": times}
        return self._cache[key]["median"]


@pytest.fixture(scope="session")
def floors(bench_home: Path) -> Floors:
    return Floors(bench_home)
