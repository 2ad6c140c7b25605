"""``batchtop share``: one poller writing the live feed, and a web server that shows each
browser tab its own follower of that feed. No Textual (the viewers are processes).

Any number of viewers costs the gateway one set of requests: only the poller asks it
anything, and only the poller holds the key. Viewers are read-only by construction: they
replay the feed and have no client.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import getpass
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.monitor.runner import PollReport
from tui.record import Recorder, RecordingError, default_recording_path
from tui.session import Session
from tui.share.access import Access, new_token
from tui.share.feed import FeedPoller
from tui.share.server import DEFAULT_MAX_VIEWERS, ShareServer
from tui.text.safe import safe_text

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ShareError(Exception):
    """Sharing could not start; ``message`` is one line for the person who asked."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        """The flags asked for the impossible (exit 2), rather than the machine refusing (exit 1)."""


@dataclass(frozen=True)
class ShareSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    max_viewers: int = DEFAULT_MAX_VIEWERS
    feed: Path | None = None
    """The feed's file (a recording like any other); a new one in the recordings folder if None."""


def ssh_forward_line(port: int) -> str:
    """How to reach a board bound to loopback on this machine from one's own."""
    return f"ssh -N -L {port}:127.0.0.1:{port} {getpass.getuser()}@{socket.gethostname()}"


def describe(sessions: list[Session]) -> str:
    names = ", ".join(s.profile_name for s in sessions)
    return f"profile{'s' if len(sessions) > 1 else ''} {names}"


def share_board(sessions: list[Session], settings: ShareSettings, *, say: Callable[[str], object] = print) -> None:
    """Share the sessions' board until interrupted. Raises ShareError when it cannot start."""
    secrets = [s.api_key for s in sessions if s.api_key]
    path = settings.feed or default_recording_path(time.time())
    server = ShareServer(
        path,
        Access(new_token(), settings.host, public_url=settings.public_url),
        title=f"batchtop — {describe(sessions)}",
        max_viewers=settings.max_viewers,
        secrets=secrets,
        on_viewer=lambda line: say(f"{_now()} {line}"),
    )
    asyncio.run(_serve(server, sessions, settings, secrets, say))


async def _serve(
    server: ShareServer,
    sessions: list[Session],
    settings: ShareSettings,
    secrets: list[str],
    say: Callable[[str], object],
) -> None:
    try:
        port = await server.start(settings.host, settings.port)
    except OSError as exc:
        await server.stop()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        hint = "; give --port N (0 for any free port)" if exc.errno == errno.EADDRINUSE else ""
        raise ShareError(f"cannot listen on {settings.host}:{settings.port}: {why.lower()}{hint}") from None
    # The feed is made once the port is ours: a refused start leaves no empty recording.
    try:
        recorder = Recorder(server.feed, secrets=secrets)
    except RecordingError as exc:
        await server.stop()
        raise ShareError(f"cannot write the feed: {exc.message}", usage=True) from None
    try:
        poller = FeedPoller(
            sessions,
            recorder,
            on_problem=lambda message: say(f"{_now()} the feed stopped: {message}"),
            on_poll=PollNews(say),
        )
        try:
            poller.start_feed()
        except RecordingError as exc:
            await server.stop()
            raise ShareError(f"cannot write the feed: {exc.message}") from None
        await server.warm()
        _announce(server, sessions, settings, port, say)
        await _until_stopped(poller, server)
    finally:
        with contextlib.suppress(RecordingError):
            recorder.close()
    say(f"batchtop share: stopped; the feed is kept as a recording: {recorder.path}")


def _announce(
    server: ShareServer, sessions: list[Session], settings: ShareSettings, port: int, say: Callable[[str], object]
) -> None:
    say(f"batchtop share: {describe(sessions)}, read-only, for up to {settings.max_viewers} viewers")
    say(f"  open       {server.access.board_url}")
    if settings.host in LOOPBACK and settings.public_url is None:
        say(f"  over SSH   {ssh_forward_line(port)}")
        say("             (run that on your own machine, then open the link there)")
    elif settings.host not in LOOPBACK:
        say(
            f"  warning    listening on {settings.host}:{port} over plain http: whoever has the link can "
            "watch, and anyone on the path can read it"
        )
    say(f"  feed       {server.feed} (one poller; each tab follows it)")
    say("  Ctrl-C stops sharing")


async def _until_stopped(poller: FeedPoller, server: ShareServer) -> None:
    """Poll and serve until SIGINT or SIGTERM; then close every tab and stop polling."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    polling = asyncio.create_task(poller.run(), name="share poller")
    stopping = asyncio.create_task(stop.wait(), name="share stop")
    try:
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await server.stop()
        for task in (polling, stopping):
            task.cancel()
        results = await asyncio.gather(polling, stopping, return_exceptions=True)
    failure = results[0]
    if isinstance(failure, BaseException) and not isinstance(failure, asyncio.CancelledError):
        raise failure


class PollNews:
    """Tells the share's own terminal when a provider's polls start failing, and when they
    come back: the viewers see it on the board, whoever runs the share sees it here."""

    def __init__(self, say: Callable[[str], object]) -> None:
        self._say = say
        self._failing: dict[tuple[str, str], str] = {}

    def __call__(self, report: PollReport) -> None:
        where = (report.origin, report.provider)
        name = f"{report.origin}: {report.provider}" if report.origin else report.provider
        if report.error is not None:
            why = safe_text(report.error.short, 120)
            if self._failing.get(where) != why:
                self._failing[where] = why
                self._say(f"{_now()} {name}: {why} (the poller retries; viewers see it on the board)")
        elif self._failing.pop(where, None) is not None:
            self._say(f"{_now()} {name}: polling again")


def _now() -> str:
    return time.strftime("%H:%M:%S")
