"""``batchtop share``: one poller writing the live feed, and a web server that shows each
browser tab its own follower of that feed. No Textual (the viewers are processes).

Any number of viewers costs the gateway one set of requests: only the poller asks it
anything, and only the poller holds the key. Viewers are read-only by construction: they
replay the feed and have no client.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.record import Recorder, RecordingError, default_recording_path
from tui.session import Session
from tui.share.access import Access, new_token
from tui.share.feed import FeedPoller
from tui.share.server import DEFAULT_MAX_VIEWERS, ShareServer

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ShareError(Exception):
    """Sharing could not start; ``message`` is one line for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    try:
        recorder = Recorder(path, secrets=secrets)
    except RecordingError as exc:
        raise ShareError(f"cannot write the feed: {exc.message}") from None
    try:
        poller = FeedPoller(sessions, recorder, on_problem=lambda message: say(f"{_now()} the feed stopped: {message}"))
        try:
            poller.start_feed()
        except RecordingError as exc:
            raise ShareError(f"cannot write the feed: {exc.message}") from None
        access = Access(new_token(), settings.host, public_url=settings.public_url)
        server = ShareServer(
            recorder.path,
            access,
            title=f"batchtop — {describe(sessions)}",
            max_viewers=settings.max_viewers,
            secrets=secrets,
            on_viewer=lambda line: say(f"{_now()} {line}"),
        )
        asyncio.run(_serve(poller, server, sessions, settings, say))
    finally:
        with contextlib.suppress(RecordingError):
            recorder.close()
    say(f"batchtop share: stopped; the feed is kept as a recording: {recorder.path}")


async def _serve(
    poller: FeedPoller,
    server: ShareServer,
    sessions: list[Session],
    settings: ShareSettings,
    say: Callable[[str], object],
) -> None:
    try:
        port = await server.start(settings.host, settings.port)
    except OSError as exc:
        await server.stop()
        why = exc.strerror or str(exc)
        hint = "; give --port N (0 for any free port)" if settings.port else ""
        raise ShareError(f"cannot listen on {settings.host}:{settings.port}: {why}{hint}") from None
    access = server.access
    say(f"batchtop share: {describe(sessions)}, read-only, for up to {settings.max_viewers} viewers")
    say(f"  open       {access.board_url}")
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


def _now() -> str:
    return time.strftime("%H:%M:%S")
