"""``batchtop replay FILE``: the board as it was, from a recording; always read-only.

The same app and screens as the live board, fed by a :class:`tui.monitor.replay.ReplayPlayer`
instead of the poll loop: no client, no key, no request to anyone. The header says REPLAY
and the recorded time; keys pause (``p``), step poll by poll (``.`` ``,``), seek (``]`` ``[``
one minute, ``}`` ``{`` ten, ``g`` to a time) and change speed (``x``: ×1, ×10, ×60).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from textual.binding import Binding
from textual.screen import Screen

from tui.config import Profile
from tui.monitor.events import BatchEvent
from tui.monitor.replay import ReplayPlayer, ReplayRunner
from tui.record import Record
from tui.session import Session
from tui.text.humanize import local_time
from tui.text.safe import safe_text
from tui.ui.app import BatchtopApp
from tui.ui.messages import PollFinished
from tui.ui.screens.goto import GoToTimeScreen


def replay_sessions(player: ReplayPlayer) -> list[Session]:
    """A read-only session per recorded profile, without a key: what the header and the
    cancel rules read. A header too odd to make a profile of still gives one."""
    sessions = []
    for index, recorded in enumerate(player.recording.profiles):
        name = safe_text(str(recorded.get("name") or f"profile-{index + 1}"), 40)
        fields = {
            "base_url": recorded.get("base_url"),
            "api": recorded.get("api", "bifrost"),
            "providers": recorded.get("providers"),
            "read_only": True,
        }
        try:
            profile = Profile.model_validate({k: v for k, v in fields.items() if v is not None})
        except Exception:  # noqa: BLE001 — a recording is a file: anything may be in it
            profile = Profile.model_validate({"base_url": "http://recording.invalid", "providers": ["unknown"]})
            profile = profile.model_copy(update={"read_only": True})
        gateway = recorded.get("gateway")
        label = safe_text(str(gateway), 60) if isinstance(gateway, str) and gateway else None
        sessions.append(Session(name, profile, None, None, label=label))
    return sessions


class ReplayApp(BatchtopApp):
    """The board of a recording."""

    BINDINGS = [
        *BatchtopApp.BINDINGS,
        Binding("full_stop", "step(1)", "Step", key_display="."),
        Binding("comma", "step(-1)", "Step back", show=False, key_display=","),
        Binding("right_square_bracket", "seek(60)", "+1m", key_display="]"),
        Binding("left_square_bracket", "seek(-60)", "-1m", key_display="["),
        Binding("right_curly_bracket", "seek(600)", "+10m", show=False, key_display="}"),
        Binding("left_curly_bracket", "seek(-600)", "-10m", show=False, key_display="{"),
        Binding("x", "speed", "Speed"),
        Binding("g", "goto", "Go to"),
    ]

    def __init__(self, player: ReplayPlayer, *, more: Callable[[], Iterable[Record]] | None = None) -> None:
        self.player = player
        self._more = more
        super().__init__(replay_sessions(player), clock=player.now)
        self.board = player.board
        self.title = "batchtop replay"

    # -- the feed: a player instead of the poll loop --------------------------------------

    def _new_runner(self, session: Session, origin: str) -> ReplayRunner:  # type: ignore[override]
        return ReplayRunner(
            self.player,
            origin,
            leads=not getattr(self, "origins", None),
            on_poll_finished=lambda report: self.post_message(PollFinished(report)),
            more=self._more,
        )

    def _start_polling(self) -> None:
        for origin in self.origins.values():
            if isinstance(origin.runner, ReplayRunner):
                self.run_worker(origin.runner.run(), group="poll", name=f"replay {origin.name}", exit_on_error=False)
        self._update_status_timer()

    def on_poll_finished(self, message: PollFinished) -> None:
        self._took_board()
        super().on_poll_finished(message)

    def announce(self, events: list[BatchEvent]) -> None:
        """Quiet: a replay at ×60 would pop a toast for every batch that ended, and no alert
        sink (bell, command, webhook) may fire for what happened hours ago."""

    replaying = True

    def _header_badge(self) -> str | None:
        """``REPLAY 03:12:05 ×10``, ``… paused``, ``… end``, or ``… live`` when following."""
        player = self.player
        when = local_time(player.now()).split(" ")[-1]
        if player.paused:
            state = "paused"
        elif player.following and player.at_end:
            state = "live"
        elif player.at_end:
            state = "end"
        else:
            state = f"×{player.speed:g}"
        return f"REPLAY {when} {state}"

    def _took_board(self) -> None:
        """The player may have built its board again (a seek back): show that one."""
        if self.board is not self.player.board:
            self.board = self.player.board

    def _moved(self) -> None:
        self._took_board()
        for origin in self.origins.values():
            if isinstance(origin.runner, ReplayRunner):
                origin.runner.moved()
        self.board_updated.publish(None)
        self._health_changed()

    # -- keys -------------------------------------------------------------------------

    def action_step(self, polls: int) -> None:
        self.player.step(polls)
        self._moved()

    def action_seek(self, seconds: float) -> None:
        self.player.seek(self.player.now() + seconds)
        self._moved()

    def action_speed(self) -> None:
        self.player.next_speed()
        self._moved()

    def action_goto(self) -> None:
        if isinstance(self.screen, GoToTimeScreen):
            return

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            at = parse_time(answer, self.player.recording.start)
            if at is None:
                self.notify(
                    f"not a time: {safe_text(answer, 40)} (HH:MM, HH:MM:SS, or +N minutes from the start)",
                    severity="warning",
                )
                return
            self.player.pause()
            self.player.seek(at)
            self._moved()

        self.push_screen(GoToTimeScreen(local_time(self.player.recording.start), local_time(self.player.now())), chosen)

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)


_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_MINUTES = re.compile(r"^\s*\+\s*(\d+(?:\.\d+)?)\s*m?\s*$")


def parse_time(text: str, start: float) -> float | None:
    """``HH:MM[:SS]`` (local time, on the day the recording started; the next day if that
    is before its start) or ``+N`` minutes from the start; None if neither."""
    if (minutes := _MINUTES.match(text)) is not None:
        return start + float(minutes.group(1)) * 60
    clock = _CLOCK.match(text)
    if clock is None:
        return None
    hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    day = datetime.fromtimestamp(start)
    with contextlib.suppress(ValueError):
        at = day.replace(hour=hour, minute=minute, second=second, microsecond=0).timestamp()
        return at if at >= start - 1 else at + 86400
    return None


def run_replay(path: str, *, follow: bool = False, speed: float | None = None, at: str | None = None) -> int:
    """Open the board of the recording at ``path``. RecordingError propagates (exit 2)."""
    from pathlib import Path

    from tui.monitor.replay import Recording, Tail
    from tui.record import RecordingError

    target = Path(path).expanduser()
    tail: Tail | None = None
    if follow:
        tail = Tail(target)
        recording = Recording(target)
        deadline = time.monotonic() + 10
        while recording.header is None and time.monotonic() < deadline and tail.problem is None:
            recording.extend(tail.take())
            time.sleep(0.05)
        if recording.header is None:
            tail.close()
            raise RecordingError(tail.problem or f"{target}: no recording header within 10 s (is it being written?)")
    else:
        recording = Recording.load(target)
    player = ReplayPlayer(recording)
    if speed is not None:
        player.speed = speed
    if follow:
        player.following = True
        player.seek(recording.end)  # a follower starts where the recording is now
    elif at is not None:
        when = parse_time(at, recording.start)
        if when is None:
            raise RecordingError(f"--at {at!r}: not a time (HH:MM, HH:MM:SS, or +N minutes from the start)")
        player.pause()
        player.seek(when)
    app = ReplayApp(player, more=tail.take if tail is not None else None)
    try:
        app.run()
    finally:
        if tail is not None:
            tail.close()
    return app.return_code or 0


__all__ = ["ReplayApp", "parse_time", "replay_sessions", "run_replay"]
