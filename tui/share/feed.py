"""The one poller of a shared board: polls every profile into a board and records every poll
to the live feed that each viewer follows (``batchtop replay --follow FEED``). No Textual.

This is the only part of ``batchtop share`` that holds the key; the viewers read the feed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tui import __version__
from tui.monitor import Board
from tui.monitor.recording import RecordingTap
from tui.monitor.runner import PollReport, PollRunner
from tui.record import Recorder
from tui.session import Session, recorded_profiles


class FeedPoller:
    """Polls the sessions' gateways, each on its profile's schedule, into the feed."""

    def __init__(
        self,
        sessions: list[Session],
        recorder: Recorder,
        *,
        clock: Callable[[], float] | None = None,
        on_problem: Callable[[str], object] = lambda message: None,
        on_poll: Callable[[PollReport], object] = lambda report: None,
    ) -> None:
        self.sessions = sessions
        self.recorder = recorder
        self.clock = clock or sessions[0].clock
        """The time the batches live in (the demo's simulated time in the demo), as the board's."""
        self.board = Board(self.clock)
        several = len(sessions) > 1
        names = {(s.profile_name if several else ""): s.profile_name for s in sessions}
        self.tap = RecordingTap(recorder, self.clock, names=names, on_problem=on_problem)
        self.runners = [
            PollRunner(
                list(s.profile.providers),
                interval=s.profile.interval,
                board=self.board,
                clock=self.clock,
                on_poll_finished=on_poll,
                origin=s.profile_name if several else "",
                tap=self.tap,
            )
            for s in sessions
        ]

    def start_feed(self) -> None:
        """Write the feed's header (which profiles, since when). Raises RecordingError."""
        self.recorder.header(
            profiles=recorded_profiles(self.sessions), started_at=self.clock(), app_version=__version__
        )

    async def run(self) -> None:
        """Poll until cancelled; each session's client is closed on the way out."""
        clients = [s.client(runner.origin) for s, runner in zip(self.sessions, self.runners, strict=True)]
        try:
            async with asyncio.TaskGroup() as group:
                for runner, client in zip(self.runners, clients, strict=True):
                    group.create_task(runner.run(client), name=f"share poll {runner.origin}".strip())
        finally:
            for client in clients:
                await client.aclose()
