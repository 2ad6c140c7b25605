"""One viewer of a shared board: a ``batchtop replay --follow FEED`` process run by Textual's
web driver, its screen sent to one browser tab and that tab's keys sent back. No Textual.

The process gets a minimal environment made here, not the server's: it never receives the
gateway's key (nor anything else the server's environment holds), and it reads the board
from the feed alone, so it cannot cancel anything and costs the gateway nothing.

Textual's web driver speaks in packets on stdin and stdout: after a line
``__GANGLION__``, each packet is one type byte (``D`` data, ``M`` meta as JSON, ``P``
packed), a 4-byte big-endian length and the payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PRELUDE = b"__GANGLION__\n"
_FRAME = re.compile(rb"\x1b\[\d+;\d+H")
"""How a screen update starts (the cursor put at a row and column); what the app writes
before its first one sets the terminal's modes (alternate screen, mouse, paste, cursor)."""
STOP_GRACE = 3.0
"""Seconds a viewer is given to quit when its tab closes, before it is killed."""
STDERR_KEEP = 4096
"""Bytes of a viewer's stderr kept to explain a viewer that would not start."""

ENVIRONMENT_KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "SYSTEMROOT", "NO_COLOR")
"""What a viewer takes from the server's environment: names of no secret, and only when
their value holds no secret either (see :func:`viewer_environment`). Locale variables
(``LC_*``) are kept too."""


def viewer_command(feed: Path) -> list[str]:
    """The viewer's command: this Python, this batchtop, the feed followed from its end."""
    return [sys.executable, "-m", "tui", "replay", "--follow", str(feed)]


def _serve_version() -> str:
    try:
        return version("textual-serve")
    except PackageNotFoundError:  # pragma: no cover — a dependency of batchtop
        return "0"


def viewer_environment(
    width: int, height: int, *, secrets: Iterable[str] = (), source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A viewer's whole environment: Textual's web driver and the terminal's size, and the
    few harmless names of :data:`ENVIRONMENT_KEPT` from ``source`` (the server's), unless
    their value contains one of ``secrets``."""
    source = os.environ if source is None else source
    hidden = [s for s in secrets if s]
    environment = {
        name: value
        for name, value in source.items()
        if (name in ENVIRONMENT_KEPT or name.startswith("LC_")) and not any(s in value for s in hidden)
    }
    environment.update(
        {
            "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
            "TEXTUAL_FPS": "60",
            "TEXTUAL_COLOR_SYSTEM": "truecolor",
            "TERM_PROGRAM": "textual",
            "TERM_PROGRAM_VERSION": _serve_version(),
            "COLUMNS": str(width),
            "ROWS": str(height),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


class Viewer:
    """One viewer process, bridged to one browser tab by two callbacks: ``send_screen`` with
    the bytes the app draws, ``close_tab`` when the app has ended."""

    def __init__(
        self,
        command: list[str],
        environment: dict[str, str],
        *,
        send_screen: Callable[[bytes], Awaitable[object]],
        close_tab: Callable[[], Awaitable[object]],
    ) -> None:
        self.command = command
        self.environment = environment
        self._send_screen = send_screen
        self._close_tab = close_tab
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr = bytearray()
        self.started = False
        """Whether the app said it is a Textual app (its prelude line)."""
        self.painted = False
        """Whether it has drawn its first screen: from then on a new size makes it draw all
        of the screen again (before, a tab would get its first, smaller screen under the next)."""
        self.terminal_setup = bytearray()
        """What it wrote before its first screen: the terminal modes it set. A tab that takes
        a spare gets these first, or its terminal would not send mouse events or paste."""

    def attach(
        self, send_screen: Callable[[bytes], Awaitable[object]], close_tab: Callable[[], Awaitable[object]]
    ) -> None:
        """Bridge a viewer already running (a spare) to a tab from now on."""
        self._send_screen = send_screen
        self._close_tab = close_tab

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.environment,
            start_new_session=True,  # a Ctrl-C at the server's terminal is the server's to handle
        )
        self._reader = asyncio.create_task(self._read(), name=f"viewer {self.process.pid}")

    async def keys(self, text: str) -> None:
        await self._write(packet(b"D", text.encode("utf-8")))

    async def resize(self, width: int, height: int) -> None:
        await self._meta({"type": "resize", "width": width, "height": height})

    async def focus(self, focused: bool) -> None:
        await self._meta({"type": "focus" if focused else "blur"})

    async def stop(self) -> None:
        """Ask the app to quit; kill it if it has not within :data:`STOP_GRACE` seconds."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            await self._meta({"type": "quit"})
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def why_it_failed(self) -> str:
        """The end of the viewer's stderr (for the server's log), as text."""
        return self._stderr.decode("utf-8", "replace").strip()[-STDERR_KEEP:]

    async def _meta(self, fields: dict[str, object]) -> None:
        await self._write(packet(b"M", json.dumps(fields).encode("utf-8")))

    async def _write(self, data: bytes) -> None:
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            return
        try:
            process.stdin.write(data)
            await process.stdin.drain()
        except (ConnectionError, RuntimeError):
            pass  # the viewer has gone; its reader closes the tab

    async def _read(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(self._read_stderr(process.stderr))
        stdout = process.stdout
        try:
            for _ in range(50):  # anything a viewer prints before the prelude is not for the tab
                line = await stdout.readline()
                if not line or line == PRELUDE:
                    self.started = line == PRELUDE
                    break
            while self.started:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                payload = await stdout.readexactly(size)
                if kind == b"D":
                    if not self.painted:
                        if _FRAME.match(payload):
                            self.painted = True
                        else:
                            self.terminal_setup += payload
                    await self._send_screen(payload)
                elif kind == b"M" and json.loads(payload).get("type") == "exit":
                    break
                # Other packets (open a URL, deliver a file) have no place on a shared board.
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._close_tab()
            await process.wait()
            with contextlib.suppress(asyncio.CancelledError):
                await stderr_task

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        while chunk := await stderr.read(4096):
            self._stderr += chunk
            del self._stderr[:-STDERR_KEEP]
