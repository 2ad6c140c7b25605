"""Replaying a recording: the board as it was at any recorded moment. No Textual.

A :class:`Recording` is a recording file read into memory: its header (the profiles that
were watched) and its events in order (polls, failed polls, cancel attempts). A
:class:`ReplayPlayer` holds a board built from the events up to a recorded time, and
moves that time: playing at a speed (×1, ×10, ×60), paused, stepped poll by poll, or
sought to any time (backwards by building the board again from the start: the board of a
recording is a pure function of its events). Its clock is the recorded time, so ages,
rates and ETAs read as they read then. The Textual app drives it through
:class:`ReplayRunner`, which stands in for the poll loop.

Pacing is by the recording's own ``at`` times, which are the board's clock when it was
recorded (the demo's simulated clock runs 20x: a demo recording at ×1 plays 20x slower
than it was watched).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.monitor.board import Board, BoardChange
from tui.monitor.recording import BatchReader, error_of, poll_of
from tui.monitor.runner import PollReport
from tui.monitor.schedule import ProviderHealth
from tui.monitor.tap import PAGE_ONE
from tui.record import Cancel, Header, Poll, PollFailed, Record, RecordingError, follow_recording, read_recording

MIN_FRAME = 0.1
"""Least real seconds between two steps of a replay: what falls between is applied at once."""
SPEEDS = (1.0, 10.0, 60.0)
"""The speeds a replay cycles through."""
DEFAULT_INTERVAL = 5.0


@dataclass
class Recording:
    """A recording read into memory."""

    path: Path
    header: Header | None = None
    events: list[Poll | PollFailed | Cancel] = field(default_factory=list)
    skipped: int = 0
    """Lines the reader could not use (torn, unknown, malformed)."""

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read ``path`` and the files it was rotated into. Raises RecordingError."""
        reader = read_recording(path, include_rotated=True)
        recording = cls(path)
        recording.extend(reader)
        recording.skipped = reader.stats.skipped
        if recording.header is None:
            raise RecordingError(f"{path}: not a batchtop recording (no header)")
        return recording

    def extend(self, records: Iterable[Record]) -> int:
        """Take more records (a recording still being written); returns how many events."""
        added = 0
        for record in records:
            if isinstance(record, Header):
                if self.header is None:
                    self.header = record
                continue
            self.events.append(record)
            added += 1
        return added

    @property
    def profiles(self) -> list[dict[str, Any]]:
        return list(self.header.profiles) if self.header is not None else []

    @property
    def profile_names(self) -> list[str]:
        return [str(p.get("name", "")) for p in self.profiles]

    @property
    def clock_rate(self) -> float:
        """Recorded seconds per real second while it was recorded: 1, but for the demo,
        whose board clock is the simulator's (20x). A replay at x1 plays as it was watched."""
        rates = [p.get("clock_rate") for p in self.profiles]
        rate = rates[0] if rates else None
        return float(rate) if isinstance(rate, int | float) and 0 < rate < 1e6 else 1.0

    @property
    def start(self) -> float:
        """The first event's time (the empty board before the first answer is not worth
        waiting through), else the header's."""
        if self.events:
            return self.events[0].at
        return self.header.started_at if self.header is not None else 0.0

    @property
    def end(self) -> float:
        return self.events[-1].at if self.events else self.start


class ReplayPlayer:
    """The board of a recording at a moving recorded time.

    ``clock`` is the real (monotonic) clock that paces playing; tests pass a fake one."""

    def __init__(self, recording: Recording, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.recording = recording
        self._real = clock
        names = recording.profile_names
        self.several = len(names) > 1
        self.origins = {name: (name if self.several else "") for name in names}
        """Profile name to the board's origin ("" on a recording of one profile)."""
        self.speed = SPEEDS[0]
        self.paused = False
        self.following = False
        """Tailing a recording still being written: at its end, wait for more."""
        self._anchor_at = recording.start
        self._anchor_real = clock()
        self._reset()

    # -- the recorded clock -----------------------------------------------------------

    def now(self) -> float:
        """The recorded time on screen: moving while playing, never past the last event
        unless following (then it keeps up with real time, as the live board did)."""
        if self.paused:
            return self._anchor_at
        moved = self._anchor_at + (self._real() - self._anchor_real) * self._pace
        if not self.following and self.position >= len(self.recording.events):
            return max(self._anchor_at, min(moved, self.recording.end))
        return moved

    def _anchor(self, at: float) -> None:
        self._anchor_at = at
        self._anchor_real = self._real()

    # -- state ------------------------------------------------------------------------

    def _board_clock(self) -> float:
        # While an event is applied the board reads that event's time, as the live board
        # read its clock when it took the poll; between events, the moving recorded time.
        return self._event_at if self._event_at is not None else self.now()

    def _reset(self) -> None:
        self._event_at: float | None = None
        self.board = Board(self._board_clock)
        self.position = 0
        """Index of the next event to apply."""
        self._reader = BatchReader()
        self.health: dict[str, dict[str, ProviderHealth]] = {}
        start = self.recording.start
        for profile in self.recording.profiles:
            origin = self.origins.get(str(profile.get("name", "")), "")
            interval = profile.get("interval")
            every = float(interval) if isinstance(interval, int | float) and interval > 0 else DEFAULT_INTERVAL
            providers = profile.get("providers")
            self.health[origin] = {
                str(p): ProviderHealth(str(p), every, next_poll_at=start)
                for p in (providers if isinstance(providers, list) else [])
            }
        self.cancels: list[Cancel] = []
        """Cancel attempts replayed so far."""

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.recording.events)

    def next_at(self) -> float | None:
        """When the next event happened (recorded time); None at the end."""
        events = self.recording.events
        return events[self.position].at if self.position < len(events) else None

    # -- moving -----------------------------------------------------------------------

    def advance(self) -> list[PollReport]:
        """Apply every event whose time has come; a report per poll, as the live loop makes."""
        now = self.now()
        reports = []
        while (due := self.next_at()) is not None and due <= now:
            self._event_at = due
            try:
                report = self._apply(self.recording.events[self.position])
            finally:
                self._event_at = None
            self.position += 1
            if report is not None:
                reports.append(report)
        return reports

    def _apply(self, event: Poll | PollFailed | Cancel) -> PollReport | None:
        if isinstance(event, Cancel):
            self.cancels.append(event)
            return None
        origin = self.origins.get(event.profile, event.profile if self.several else "")
        health = self.health.setdefault(origin, {}).get(event.provider)
        if health is None:
            health = self.health[origin][event.provider] = ProviderHealth(
                event.provider, DEFAULT_INTERVAL, next_poll_at=event.at
            )
        if isinstance(event, PollFailed):
            error = error_of(event.error)
            health.failed(event.at, error)
            return PollReport(event.provider, error=error, next_poll_at=health.next_poll_at, origin=origin)
        change = self.board.take(poll_of(event, self._reader, origin))
        if event.kind == PAGE_ONE:
            health.succeeded(event.at, note=event.note)
        elif event.note:
            health.note = event.note
        return PollReport(event.provider, change=change, next_poll_at=health.next_poll_at, origin=origin)

    def take_more(self, records: Iterable[Record]) -> int:
        """Records of a recording still being written; returns how many. A follower at the
        live end stays there: it moves to the newest record at once, rather than wait for
        its own clock to reach a time the writer's clock reached a moment earlier (the badge
        would flicker from "live" to "×1" at every poll)."""
        live = self.following and not self.paused and self.at_end
        taken = self.recording.extend(records)
        if taken and live and self.recording.end > self.now():
            self._anchor(self.recording.end)
        return taken

    def seek(self, at: float) -> None:
        """Show the board as it was at recorded time ``at`` (clamped to the recording)."""
        at = max(at, self.recording.start)
        if not self.following:
            at = min(at, self.recording.end)
        if at < self.now():
            self._reset()  # a board cannot be taken back: built again from the start
        self._anchor(at)
        self.advance()

    def step(self, polls: int = 1) -> None:
        """Pause, and move to the next poll (``polls`` > 0) or back to the previous one."""
        self.pause()
        events = self.recording.events
        if polls > 0:
            index = self.position
            while index < len(events) and isinstance(events[index], Cancel):
                index += 1
            if index < len(events):
                self.seek(events[index].at)
            return
        index = self.position - 1  # the last applied event
        # Back to the poll before the last one applied (its time; the board as it was then).
        earlier = [e.at for e in events[: max(index, 0)] if not isinstance(e, Cancel) and e.at < self.now()]
        self.seek(earlier[-1] if earlier else self.recording.start)

    def pause(self) -> None:
        if not self.paused:
            self._anchor(self.now())
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            self._anchor(self._anchor_at)
            self.paused = False

    def next_speed(self) -> float:
        now = self.now()
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)] if self.speed in SPEEDS else SPEEDS[0]
        self._anchor(now)
        return self.speed

    def real_wait(self) -> float | None:
        """Real seconds until the next event is due; None when nothing will come by itself."""
        due = self.next_at()
        if self.paused or due is None:
            return None
        return max((due - self.now()) / self._pace, 0.0)

    @property
    def _pace(self) -> float:
        """Recorded seconds per real second: the speed, at the pace it was recorded."""
        return self.speed * self.recording.clock_rate


class Tail:
    """The records a recording still being written gains, read by a thread that follows the
    file (``tui.record.follow_recording``); :meth:`take` hands over what arrived since."""

    def __init__(self, path: Path, *, every: float = 0.5) -> None:
        self._queue: queue.SimpleQueue[Record] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._follow, args=(path, every), name="recording tail", daemon=True)
        self._thread.start()

    def _follow(self, path: Path, every: float) -> None:
        try:
            for record in follow_recording(path, every, sleep=self._stop.wait, stop=self._stop.is_set):
                self._queue.put(record)
        except RecordingError as exc:
            self.problem = exc.message

    def take(self) -> list[Record]:
        records = []
        with contextlib.suppress(queue.Empty):
            while True:
                records.append(self._queue.get_nowait())
        return records

    def close(self) -> None:
        self._stop.set()


class ReplayRunner:
    """Stands in for one profile's poll loop (``tui.monitor.runner.PollRunner``) on a replayed
    board: its providers' health, pause and resume. The runner of the first profile plays
    the recording for all of them; the others only hold their profile's health."""

    def __init__(
        self,
        player: ReplayPlayer,
        origin: str,
        *,
        leads: bool,
        on_poll_finished: Callable[[PollReport], object] = lambda report: None,
        on_moved: Callable[[], object] = lambda: None,
        more: Callable[[], Iterable[Record]] | None = None,
        follow_every: float = 0.5,
    ) -> None:
        self.player = player
        self.origin = origin
        self.leads = leads
        self._on_poll_finished = on_poll_finished
        self._on_moved = on_moved
        self._more = more
        self._follow_every = follow_every
        self._wake = asyncio.Event()
        self._stopped = False

    @property
    def board(self) -> Board:
        return self.player.board

    @property
    def health(self) -> dict[str, ProviderHealth]:
        return self.player.health.get(self.origin, {})

    @property
    def paused(self) -> bool:
        return self.player.paused

    @property
    def walking(self) -> bool:
        """A replay walks no history: its pages come as the recorded polls."""
        return False

    async def run(self, client: object = None) -> None:
        """Play the recording until stopped (the lead runner only)."""
        if not self.leads:
            return
        self._publish(self.player.advance())
        while not self._stopped:
            wait = self.player.real_wait()
            if wait is not None:
                wait = max(wait, MIN_FRAME)
            if self._more is not None and (wait is None or wait > self._follow_every):
                wait = self._follow_every
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            if self._more is not None:
                self.player.take_more(self._more())
            self._publish(self.player.advance())

    def _publish(self, reports: list[PollReport]) -> None:
        """One report for every poll applied in one step: at ×60 a second of real time holds
        dozens of polls, and one redraw for all of them is what the screen can show."""
        if not reports:
            return
        change = BoardChange()
        for report in reports:
            change.merge(report.change)
        self._on_poll_finished(PollReport(reports[-1].provider, change=change, origin=reports[-1].origin))

    def moved(self) -> None:
        """The player was moved by a key (seek, step, speed): the loop looks again."""
        self._wake.set()
        self._on_moved()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def pause(self) -> None:
        self.player.pause()
        self._wake.set()

    def resume(self) -> None:
        self.player.resume()
        self._wake.set()

    def poll_now(self) -> None:
        """``r`` on a replay: nothing to ask anyone."""


__all__ = ["SPEEDS", "Recording", "ReplayPlayer", "ReplayRunner", "Tail"]
