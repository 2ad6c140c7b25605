"""Helpers for the benchmarks: a process under a real pty, its CPU and memory from /proc,
and a record of every request the in-process simulator receives.

Nothing here imports Textual or batchtop's UI: the app is measured from outside, as a
terminal and a gateway see it.
"""

from __future__ import annotations

import bisect
import codecs
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tui.sim import SimServer
from tui.sim.handler import GatewayHandler

PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Escape sequences as a terminal would consume them: CSI, OSC, DCS/APC/PM/SOS strings, charset
# selection, and the two-byte ESC forms. What is left is the text a person would read.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^X][^\x1b]*\x1b\\"
    r"|\x1b[()*+][0-9A-Za-z]"
    r"|\x1b[@-Z\\-_=>78]"
)
_INCOMPLETE_TAIL = 512
"""A chunk may end inside an escape sequence: an ESC this close to the end that does not
start a complete sequence is held back until the next chunk."""


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class PtyProcess:
    """A command on a pty of ``cols`` x ``rows``, its output drained by a thread.

    ``chunks`` holds (monotonic time, byte count) of every read; ``text`` pieces hold the
    output with escape sequences removed, each with the time it arrived, so a test can ask
    when some words first became visible and how many bytes were written in a window.
    """

    def __init__(self, argv: list[str], *, cols: int, rows: int, home: Path, cwd: str | None = None) -> None:
        self.argv = argv
        self.cols, self.rows = cols, rows
        self.home = home
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0
        self._lock = threading.Lock()
        self.chunks: list[tuple[float, int]] = []
        self.raw: list[bytes] = []
        """every read, as written (to look at what a redraw sends)"""
        self._texts: list[str] = []
        self._text_times: list[float] = []
        self._text_ends: list[int] = []  # cumulative length of the stripped text after each piece
        self._reader: threading.Thread | None = None
        self._master = -1

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> PtyProcess:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self._master = master
        self.spawned_at = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                env=isolated_env(self.home),
                cwd=self.cwd,
                close_fds=True,
            )
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._drain, name="pty-reader", daemon=True)
        self._reader.start()
        return self

    def close(self) -> None:
        """End the whole process group (TERM, then KILL) and the reader."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind in its group
            except (ProcessLookupError, PermissionError):
                pass
        if self._reader is not None:
            self._reader.join(2.0)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    def __enter__(self) -> PtyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _drain(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed the pty
                return
            if not data:
                return
            now = time.monotonic()
            text = pending + decoder.decode(data)
            cut = len(text)
            escape = text.rfind("\x1b", max(0, len(text) - _INCOMPLETE_TAIL))
            if escape >= 0 and not _ANSI.match(text, escape):
                cut = escape
            pending = text[cut:]
            visible = strip_ansi(text[:cut])
            with self._lock:
                self.chunks.append((now, len(data)))
                self.raw.append(data)
                if visible:
                    end = (self._text_ends[-1] if self._text_ends else 0) + len(visible)
                    self._texts.append(visible)
                    self._text_times.append(now)
                    self._text_ends.append(end)

    # -- input ---------------------------------------------------------------------

    def send(self, keys: bytes) -> float:
        """Write keys to the terminal; returns the monotonic time just before the write."""
        t = time.monotonic()
        os.write(self._master, keys)
        return t

    # -- output --------------------------------------------------------------------

    def bytes_between(self, t0: float, t1: float) -> int:
        with self._lock:
            return sum(n for t, n in self.chunks if t0 <= t < t1)

    def total_bytes(self) -> int:
        with self._lock:
            return sum(n for _, n in self.chunks)

    def screen_text(self) -> str:
        with self._lock:
            return "".join(self._texts)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float, *, after: float = 0.0) -> float:
        """Wait until ``pattern`` (a regex) appears in text that arrived at or after ``after``;
        returns the time the piece of output completing the first match arrived."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0  # pieces searched so far; a match may straddle reads, so look back a few
        while True:
            with self._lock:
                count = len(self._texts)
                lo = max(bisect.bisect_left(self._text_times, after), seen - 8)
                text = "".join(self._texts[lo:count])
                base = self._text_ends[lo - 1] if lo else 0
                ends, times = self._text_ends[lo:count], self._text_times[lo:count]
            match = regex.search(text)
            if match:
                end = base + match.end()
                return next(t for piece_end, t in zip(ends, times) if piece_end >= end)
            seen = count
            if not self.alive():
                time.sleep(0.1)  # let the reader take the last output
                tail = self.screen_text()[-1500:]
                raise AssertionError(
                    f"the process exited ({self.proc.returncode}) before {regex.pattern!r} was seen; last output: {tail}"
                )
            if time.monotonic() > deadline:
                tail = self.screen_text()[-600:]
                raise AssertionError(f"{regex.pattern!r} not seen within {timeout:.0f} s; last output: {tail!r}")
            time.sleep(0.005)

    # -- /proc ---------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        """User + system CPU of the process (all its threads) so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@dataclass
class Window:
    """What a process did over a stretch of wall time."""

    seconds: float
    cpu_seconds: float
    bytes_written: int
    started: float
    ended: float

    @property
    def cpu_percent(self) -> float:
        return 100.0 * self.cpu_seconds / self.seconds

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_written / self.seconds


def measure(proc: PtyProcess, seconds: float) -> Window:
    """Sample CPU and terminal bytes over ``seconds`` of wall time, from now."""
    t0, c0 = time.monotonic(), proc.cpu_seconds()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), proc.cpu_seconds()
    assert proc.alive(), "the process exited during the measurement"
    return Window(t1 - t0, c1 - c0, proc.bytes_between(t0, t1), t0, t1)


def isolated_env(home: Path) -> dict[str, str]:
    """A clean environment: a terminal like a modern one, and no user config or state."""
    dirs = {}
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        dirs[var] = str(home / sub)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        **dirs,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def app_argv(base_url: str, interval: float = 2.0, providers: tuple[str, ...] = PROVIDERS) -> list[str]:
    argv = [sys.executable, "-m", "tui", "--base-url", base_url]
    for provider in providers:
        argv += ["--provider", provider]
    return argv + ["--interval", f"{interval:g}"]


FLOORS = Path(__file__).resolve().parent / "floors"


def floor_argv(script: str, *args: str) -> list[str]:
    return [sys.executable, str(FLOORS / script), *args]


# -- the simulator's side -----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    at: float
    """monotonic time the request had been read (headers and body), before it was answered"""
    done: float
    method: str
    kind: str
    """list (first page), page (a later page), retrieve, cancel, other"""
    provider: str | None
    path: str


class RequestLog:
    """Every batch API request one SimServer receives, with its time and kind.

    It swaps the server's handler class for a subclass that notes each request: the
    simulator itself is untouched, and the record is kept in this (the test) process.
    """

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        log = self

        class RecordingHandler(GatewayHandler):
            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                at = time.monotonic()
                try:
                    super()._serve(method)
                finally:
                    if not url.path.startswith("/_sim"):
                        log._note(Request(at, time.monotonic(), method, _kind(method, url), _provider(url), url.path))

        httpd = sim._httpd  # the listening server: set by start(); its handler is looked up per connection
        assert httpd is not None, "start the simulator first"
        httpd.RequestHandlerClass = RecordingHandler

    def _note(self, request: Request) -> None:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    def between(self, t0: float, t1: float, kind: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if t0 <= r.at < t1 and (kind is None or r.kind == kind)]

    def wait_for(self, kind: str, after: float, timeout: float) -> Request:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for r in self.requests:
                    if r.kind == kind and r.at >= after:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {kind} request within {timeout} s")
                self._arrived.wait(left)

    def quiet_for(self, seconds: float) -> bool:
        """No request has arrived or been answered for ``seconds``."""
        with self._lock:
            last = max((r.done for r in self.requests), default=0.0)
        return time.monotonic() - last >= seconds

    def busy_seconds(self, t0: float, t1: float) -> float:
        """Wall time within [t0, t1) during which at least one request was being served."""
        with self._lock:
            spans = sorted((max(r.at, t0), min(r.done, t1)) for r in self.requests if r.done > t0 and r.at < t1)
        busy, edge = 0.0, t0
        for start, end in spans:
            start = max(start, edge)
            if end > start:
                busy += end - start
                edge = end
        return busy


def reuse_frozen_views(sim: SimServer) -> None:
    """Let a frozen simulator compute each provider's batch states once per simulated moment.

    The simulator derives every batch's state from the clock at each call, sorting all of a
    provider's batches for every page it serves: at 2,500 batches a provider that is ~25 ms
    of the test process's CPU per page, so a start-up walk of 100 pages costs the gateway
    more than the app's own budget. A real gateway serves a page in a few ms. While the
    clock stands still the states cannot change unless a batch is added or cancelled, so the
    last answer is kept per provider until the clock moves or the world changes.
    """
    world = sim.world
    compute, cancel, add = world.views, world.cancel, world.add_batch
    last: dict[str, tuple[float, list]] = {}
    lock = threading.Lock()

    def views(provider: str, now: float):
        with lock:
            kept = last.get(provider)
        if kept is not None and kept[0] == now:
            return list(kept[1])
        found = compute(provider, now)
        with lock:
            last[provider] = (now, found)
        return list(found)

    def changed(method):
        def call(*args, **kwargs):
            with lock:
                last.clear()
                result = method(*args, **kwargs)
                last.clear()
            return result

        return call

    world.views = views  # type: ignore[method-assign]
    world.cancel = changed(cancel)  # type: ignore[method-assign]
    world.add_batch = changed(add)  # type: ignore[method-assign]


def _kind(method: str, url) -> str:
    parts = url.path.split("/")
    if parts[:3] != ["", "v1", "batches"]:
        return "other"
    if len(parts) == 3:
        return "page" if parse_qs(url.query).get("after", [""])[0] else "list"
    if method == "POST" and parts[-1] == "cancel":
        return "cancel"
    return "retrieve" if method == "GET" else "other"


def _provider(url) -> str | None:
    return parse_qs(url.query).get("provider", [None])[0]


def polls_between(log: RequestLog, t0: float, t1: float) -> dict[str, int]:
    """Polls started in the window, per provider: each poll begins with one first-page list."""
    counts = dict.fromkeys(log.sim.world.providers, 0)
    for r in log.between(t0, t1, "list"):
        if r.provider in counts:
            counts[r.provider] += 1
    return counts


# -- figures ----------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    """the letter of the issue and a short name: "b.cpu.1000" """
    name: str
    value: float | None
    unit: str
    target: float | None = None
    """the ceiling the value must not exceed (all targets here are "at most")"""
    floor: float | None = None
    ratio_target: float | None = None
    """a ceiling on value / floor, when the issue gives one"""
    minimum: float | None = None
    """a floor the value must reach instead (a count of polls, say)"""
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    @property
    def met(self) -> bool | None:
        if self.target is None and self.ratio_target is None and self.minimum is None:
            return None
        if self.value is None:
            return False
        ok = (self.target is None or self.value <= self.target) and (self.minimum is None or self.value >= self.minimum)
        if self.ratio_target is not None:
            ok = ok and self.ratio is not None and self.ratio <= self.ratio_target
        return ok

    def target_text(self) -> str:
        parts = [f"≥ {num(self.minimum)} {self.unit}".rstrip()] if self.minimum is not None else []
        if self.target is not None:
            parts.append(f"≤ {num(self.target)} {self.unit}".rstrip())
        if self.ratio_target is not None:
            parts.append(f"≤ {self.ratio_target:g}× floor")
        return " and ".join(parts) or "—"


def num(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 0.01 or x == 0 else f"{x:.3f}"
