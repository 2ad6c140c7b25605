"""The web server of a shared board (aiohttp): the token's page and files, and one websocket
per browser tab, each bridged to its own viewer process. No Textual.

Every request passes :class:`tui.share.access.Access` first: the Host, then the token, then
(on the websocket) the Origin. Refusals say what was wrong, never what would be right, and
nothing is logged with the token in it (aiohttp's access log is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from tui.share.access import Access
from tui.share.page import HEADERS, board_page, load_static_files, refused_page
from tui.share.viewer import Viewer, viewer_command, viewer_environment
from tui.text.safe import safe_text

DEFAULT_MAX_VIEWERS = 8
MAX_SIZE = 500
"""Columns or rows a tab may ask for; more is clamped (a hostile tab cannot ask for a
terminal that takes the viewer's memory)."""
SPARE_SIZE = (20, 5)
"""The terminal a spare viewer draws in before a tab takes it: a size no tab has, so that
the tab's own size is a change and the viewer draws the whole board for it."""
MAX_MESSAGE = 64 * 1024
"""Bytes of one websocket message from a tab (keys and sizes are a few bytes)."""


@dataclass
class ShareStats:
    """What the server has seen, for its owner's terminal and the tests."""

    viewers_total: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    """Refused requests by reason ("host", "token", "origin", "full")."""
    viewer_pids: list[int] = field(default_factory=list)
    """The viewer processes running now."""

    def refuse(self, why: str) -> None:
        self.refused[why] = self.refused.get(why, 0) + 1


def _size(value: str | None, default: int) -> int:
    try:
        return max(1, min(MAX_SIZE, int(value or default)))
    except ValueError:
        return default


class ShareServer:
    """Serves one feed to at most ``max_viewers`` browser tabs at once."""

    def __init__(
        self,
        feed: Path,
        access: Access,
        *,
        title: str = "batchtop",
        max_viewers: int = DEFAULT_MAX_VIEWERS,
        secrets: Iterable[str] = (),
        command: Callable[[Path], list[str]] = viewer_command,
        on_viewer: Callable[[str], object] = lambda line: None,
        spare: bool = True,
    ) -> None:
        self.feed = feed
        self.access = access
        self.title = title
        self.max_viewers = max_viewers
        self._secrets = [s for s in secrets if s]
        self._command = command
        self._on_viewer = on_viewer
        self.stats = ShareStats()
        self._static = load_static_files()
        self._viewers: set[Viewer] = set()
        self._seats = 0
        """Tabs connected or connecting (taken before the first await, so the cap holds)."""
        self._runner: web.AppRunner | None = None
        self._keep_spare = spare
        self._spare: Viewer | None = None
        """A viewer started before any tab asks, following the feed: the next tab takes it
        and sees the board at once. A viewer builds its board from the whole feed, which
        takes seconds once a share has run for hours (3.5 s for an hour of 2-s polls of 4
        providers); a spare does it while nobody waits."""

    # -- life cycle ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_MESSAGE)
        app.add_routes(
            [
                web.get("/t/{token}", self._to_page),
                web.get("/t/{token}/", self._page),
                web.get("/t/{token}/ws", self._websocket),
                web.get("/t/{token}/static/{name:.+}", self._file),
            ]
        )
        return app

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); returns the port."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self.access.listening(bound)
        return bound

    async def warm(self) -> None:
        """Start a spare viewer now (call once the feed has its header)."""
        await self._new_spare()

    async def stop(self) -> None:
        """Close every tab (its viewer quits) and stop listening."""
        self._keep_spare = False
        viewers = [*self._viewers, *([self._spare] if self._spare is not None else [])]
        self._spare = None
        await asyncio.gather(*(viewer.stop() for viewer in viewers), return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the checks ---------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not self.access.host_ok(request.headers.get("Host")):
            return self._refuse(request, "host", 403, "This server answers only to its own address.")
        token = request.match_info.get("token")
        if token is None or not self.access.token_ok(token):
            return self._refuse(
                request, "token", 403, "This link is not a shared board (its token is missing or wrong)."
            )
        if not self.access.origin_ok(request.headers.get("Origin")):
            return self._refuse(request, "origin", 403, "Refused: the request came from another site's page.")
        response = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            response.headers.update(HEADERS)
        return response

    def _refuse(self, request: web.Request, why: str, status: int, message: str) -> web.Response:
        self.stats.refuse(why)
        response = web.Response(status=status, text=refused_page(message), content_type="text/html")
        response.headers.update(HEADERS)
        return response

    # -- the handlers -------------------------------------------------------------------

    async def _to_page(self, request: web.Request) -> web.Response:
        """The link without its last slash (as some chat apps cut it): to the page."""
        raise web.HTTPFound(self.access.board_path)

    async def _page(self, request: web.Request) -> web.Response:
        if self._seats >= self.max_viewers:
            return self._full(request)
        font_size = _size(request.query.get("fontsize"), 16)
        return web.Response(text=board_page(self.title, min(font_size, 64)), content_type="text/html")

    def _full(self, request: web.Request) -> web.Response:
        return self._refuse(
            request,
            "full",
            503,
            f"The board already has {self.max_viewers} viewers (the most it takes); try again when one leaves.",
        )

    async def _file(self, request: web.Request) -> web.Response:
        found = self._static.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found.body, content_type=found.content_type)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._seats >= self.max_viewers:
            return self._full(request)
        self._seats += 1
        try:
            return await self._watch(request)
        finally:
            self._seats -= 1

    async def _watch(self, request: web.Request) -> web.StreamResponse:
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        tab = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        await tab.prepare(request)
        viewer = self._viewer_for(tab, width, height)
        self._viewers.add(viewer)
        self.stats.viewers_total += 1
        try:
            if viewer.process is None:
                await viewer.start()
            else:  # a spare: the terminal modes it set, then the whole board at this tab's size
                await tab.send_bytes(bytes(viewer.terminal_setup))
                await viewer.resize(width, height)
            await self._new_spare()
            assert viewer.pid is not None
            self.stats.viewer_pids.append(viewer.pid)
            self._on_viewer(f"viewer {self.stats.viewers_total} joined ({len(self._viewers)} watching)")
            await self._from_tab(tab, viewer)
        finally:
            await viewer.stop()
            self._viewers.discard(viewer)
            if viewer.pid in self.stats.viewer_pids:
                self.stats.viewer_pids.remove(viewer.pid)
            if not viewer.started and viewer.why_it_failed:
                # Its last line, made terminal-safe: a traceback may quote what the feed held.
                self._on_viewer(f"a viewer did not start: {safe_text(viewer.why_it_failed.splitlines()[-1], 200)}")
            else:
                self._on_viewer(f"a viewer left ({len(self._viewers)} watching)")
            with contextlib.suppress(ConnectionError, RuntimeError):
                await tab.close()
        return tab

    def _viewer_for(self, tab: web.WebSocketResponse, width: int, height: int) -> Viewer:
        """The spare, bridged to ``tab``, if it has drawn; else a new viewer, not yet started."""
        spare = self._spare
        if spare is not None and spare.running and spare.painted:
            self._spare = None
            spare.attach(tab.send_bytes, tab.close)
            return spare
        if spare is not None and not spare.running:
            self._spare = None  # it ended (a feed it could not read): the next is started after this one
        return Viewer(
            self._command(self.feed),
            viewer_environment(width, height, secrets=self._secrets),
            send_screen=tab.send_bytes,
            close_tab=tab.close,
        )

    async def _new_spare(self) -> None:
        """Start the next spare viewer (its screen goes nowhere until a tab takes it)."""
        if not self._keep_spare or self._spare is not None:
            return

        async def nowhere(data: bytes = b"") -> None:
            return None

        width, height = SPARE_SIZE
        spare = Viewer(
            self._command(self.feed),
            viewer_environment(width, height, secrets=self._secrets),
            send_screen=nowhere,
            close_tab=nowhere,
        )
        await spare.start()
        self._spare = spare

    async def _from_tab(self, tab: web.WebSocketResponse, viewer: Viewer) -> None:
        """What a tab sends: keys, its size, focus; and a ping answered with a pong."""
        async for message in tab:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = json.loads(message.data)
            except (ValueError, TypeError):
                continue  # not an envelope: ignored, as anything else a tab may send
            if kind == "stdin" and isinstance(data, str):
                await viewer.keys(data)
            elif kind == "resize" and isinstance(data, dict):
                await viewer.resize(_size(str(data.get("width")), 80), _size(str(data.get("height")), 24))
            elif kind == "ping":
                await tab.send_json(["pong", data])
            elif kind in ("focus", "blur"):
                await viewer.focus(kind == "focus")
