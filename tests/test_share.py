"""``batchtop share`` (issue 13, part 4): one poller writes the live feed, and each browser
tab gets its own ``batchtop replay --follow FEED`` viewer behind Textual's web driver.

Real parts only: the simulator on loopback (taking one key), the feed poller, the aiohttp
server on a free port, real viewer processes, and a websocket client that speaks to the
server as textual-serve's page does (``["stdin", keys]``, ``["resize", ...]``); the screen
it gets is drawn with pyte, as a terminal would. The browser suite (tests/share/) drives
the same server from headless Chromium.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pyte
import pytest
from apphelp import START, session_for

from tui.record import Recorder
from tui.share import Access, ShareServer, check_public_url, new_token
from tui.share.feed import FeedPoller
from tui.share.page import board_page
from tui.share.viewer import viewer_environment
from tui.sim import SimServer

KEY = "sk-bf-share-secret-4242"
FIRST_SCREEN = 30.0
"""Seconds a viewer may take to show the board (a loaded 2-core CI machine starts Python
and Textual in 1-3 s; the margin is for xdist neighbours)."""


@dataclass
class Shared:
    sim: SimServer
    server: ShareServer
    poller: FeedPoller
    feed: Path

    @property
    def url(self) -> str:
        return self.server.access.board_url

    @property
    def origin(self) -> str:
        return self.server.access.base_url


@pytest.fixture
async def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Shared]:
    monkeypatch.setenv("BIFROST_KEY", KEY)  # in the server's environment, as `--api-key-env` reads it
    sim = SimServer(seed=7, speed=1.0, start_time=START, api_key=KEY).start()
    session = session_for(sim, providers=("openai", "anthropic"), interval=0.5, api_key=KEY, name="prod")
    recorder = Recorder(tmp_path / "feed.ndjson.gz", secrets=[KEY])
    poller = FeedPoller([session], recorder)
    poller.start_feed()
    server = ShareServer(recorder.path, Access(new_token(), "127.0.0.1"), max_viewers=2, secrets=[KEY])
    await server.start("127.0.0.1", 0)
    await server.warm()
    polling = asyncio.create_task(poller.run())
    try:
        yield Shared(sim, server, poller, recorder.path)
    finally:
        await server.stop()
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        recorder.close()
        sim.stop()


class Tab:
    """A browser tab as the server sees it: a websocket, and the screen its bytes draw."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, width: int = 100, height: int = 30) -> None:
        self.ws = ws
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = False
        self.received = bytearray()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def keys(self, text: str) -> None:
        await self.ws.send_json(["stdin", text])

    async def until(self, wanted: str | Callable[[str], bool], timeout: float = FIRST_SCREEN) -> str:
        """Read what the viewer sends until the screen shows ``wanted`` (text, or a test of the text)."""
        shows = wanted if callable(wanted) else (lambda text: wanted in text)
        async with asyncio.timeout(timeout):
            while not shows(self.text()):
                message = await self.ws.receive()
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.received += message.data
                    self.stream.feed(message.data)
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    self.closed = True
                    raise AssertionError(f"the tab closed before {wanted!r}; it showed:\n{self.text()}")
        return self.text()


async def open_tab(http: aiohttp.ClientSession, shared: Shared, **headers: str) -> Tab:
    ws_url = shared.url.replace("http://", "ws://") + "ws?width=100&height=30"
    ws = await http.ws_connect(ws_url, headers={"Origin": shared.origin, **headers})
    return Tab(ws)


# -- who may look ---------------------------------------------------------------------


async def test_the_board_is_refused_without_its_token_and_served_with_it(shared: Shared) -> None:
    base = shared.origin
    async with aiohttp.ClientSession() as http:
        for path in (
            "/",
            "/t/",
            "/t/not-the-token/",
            f"/t/{shared.server.access.token[:-1]}/",
            "/static/js/textual.js",
        ):
            async with http.get(base + path) as answer:
                assert answer.status == 403, path
                assert shared.server.access.token not in await answer.text()
        async with http.get(shared.url) as answer:
            assert answer.status == 200
            page = await answer.text()
            assert answer.headers["Referrer-Policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        async with http.get(shared.url.rstrip("/"), allow_redirects=False) as answer:
            assert answer.status == 302 and answer.headers["Location"] == shared.server.access.board_path
        async with http.get(shared.url + "static/js/textual.js") as answer:
            assert answer.status == 200 and len(await answer.read()) > 100_000
        async with http.get(shared.url + "static/../../etc/passwd") as answer:
            assert answer.status in (403, 404)
    # textual-serve's own page pulls a stylesheet from fonts.googleapis.com: ours loads nothing
    # from anywhere but this server.
    assert "http://" not in page and "https://" not in page and "//fonts" not in page


async def test_a_foreign_host_or_origin_is_refused_even_with_the_token(shared: Shared) -> None:
    async with aiohttp.ClientSession() as http:
        # DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
        async with http.get(shared.url, headers={"Host": f"evil.example:{shared.server.access.port}"}) as answer:
            assert answer.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_tab(http, shared, Origin="https://evil.example")
        assert refused.value.status == 403
        for origin in (shared.origin, f"http://localhost:{shared.server.access.port}"):
            tab = await open_tab(http, shared, Origin=origin)
            await tab.ws.close()
    assert shared.server.stats.refused == {"host": 1, "origin": 1}


def test_access_rules_name_the_port_and_the_public_url() -> None:
    access = Access("tok", "127.0.0.1", 8765, public_url="https://board.example.com")
    assert access.host_ok("127.0.0.1:8765") and access.host_ok("localhost:8765") and access.host_ok("[::1]:8765")
    assert access.host_ok("board.example.com") and access.host_ok("BOARD.example.com:443")
    assert not access.host_ok("127.0.0.1:8766") and not access.host_ok(None) and not access.host_ok("evil.example")
    assert access.origin_ok("http://127.0.0.1:8765") and access.origin_ok("https://board.example.com")
    assert access.origin_ok(None)  # not a browser (browsers always send one on a websocket)
    assert not access.origin_ok("http://board.example.com") and not access.origin_ok("null")
    assert access.board_url == "https://board.example.com/t/tok/"
    assert access.token_ok("tok") and not access.token_ok("tok2") and not access.token_ok("")
    wide = Access("tok", "0.0.0.0", 9000)
    assert wide.host_ok("0.0.0.0:9000") and not wide.host_ok("localhost:9000")
    assert check_public_url("https://board.example.com:8443") is None
    assert "scheme, host and port only" in (check_public_url("https://board.example.com/x") or "")
    assert "expected http(s)" in (check_public_url("board.example.com") or "")
    assert len(new_token()) >= 32 and new_token() != new_token()


def test_the_page_escapes_its_title() -> None:
    assert "<script>alert" not in board_page("<script>alert(1)</script>")


# -- what a viewer gets ---------------------------------------------------------------


def test_a_viewer_environment_is_made_not_inherited() -> None:
    source = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "BIFROST_KEY": KEY,
        "AWS_SECRET_ACCESS_KEY": "x",
        "HOME": "/root",
        "PYTHONPATH": f"/opt/{KEY}",  # a harmless name holding the key is dropped too
    }
    environment = viewer_environment(120, 40, secrets=[KEY], source=source)
    assert {"PATH", "LANG", "LC_ALL"} <= environment.keys()
    assert not {"BIFROST_KEY", "AWS_SECRET_ACCESS_KEY", "HOME", "PYTHONPATH"} & environment.keys()
    assert environment["COLUMNS"] == "120" and environment["ROWS"] == "40"
    assert environment["TEXTUAL_DRIVER"] == "textual.drivers.web_driver:WebDriver"
    assert all(KEY not in value for value in environment.values())


async def test_a_tab_shows_the_live_board_takes_keys_and_cannot_cancel(shared: Shared) -> None:
    async with aiohttp.ClientSession() as http:
        tab = await open_tab(http, shared)
        shown = await tab.until("REPLAY")
        assert "live" in shown and "batchtop · prod · gateway.test" in shown
        await tab.until("batch_")  # the board's rows, from the feed
        # The viewer process never received the key, nor the server's other variables.
        (pid,) = shared.server.stats.viewer_pids
        environ = Path(f"/proc/{pid}/environ").read_bytes() if Path(f"/proc/{pid}").exists() else b""
        assert KEY.encode() not in environ and b"XDG_STATE_HOME" not in environ
        # A key reaches the viewer: p pauses its replay.
        await tab.keys("p")
        await tab.until("paused", timeout=10)
        # c on a row: a replay has no client; nothing reaches the gateway.
        requests_before = shared.sim.request_count
        await tab.keys("c")
        await tab.until("nothing can be cancelled", timeout=10)
        cancels = sum(
            shared.sim.world.cancel_count(provider, str(batch["id"]))
            for provider in ("openai", "anthropic")
            for batch in shared.sim.world.batches(provider)
        )
        assert cancels == 0
        assert shared.sim.request_count >= requests_before  # the poller goes on
        await tab.ws.close()
    assert KEY.encode() not in shared.feed.read_bytes()  # the feed is gzip: checked whole below
    assert KEY not in os.popen(f"zcat {shared.feed}").read()


async def test_viewers_cost_the_gateway_nothing_and_are_capped(shared: Shared) -> None:
    """Requests come from the one poller only: with two viewers open the gateway sees the same
    requests per poll round as with none, and the third tab is refused (cap 2)."""

    async def requests_per_second(seconds: float) -> float:
        before = shared.sim.request_count
        await asyncio.sleep(seconds)
        return (shared.sim.request_count - before) / seconds

    await asyncio.sleep(1.5)  # past the first walk of the history
    alone = await requests_per_second(3)
    async with aiohttp.ClientSession() as http:
        tabs = [await open_tab(http, shared) for _ in range(2)]
        await asyncio.gather(*(tab.until("REPLAY") for tab in tabs))
        watched = await requests_per_second(3)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_tab(http, shared)
        assert refused.value.status == 503
        async with http.get(shared.url) as answer:
            assert answer.status == 503 and "2 viewers" in await answer.text()
        assert len(shared.server.stats.viewer_pids) == 2
        for tab in tabs:
            await tab.ws.close()
    # 2 providers polled every 0.5 s: about 4 a second either way (retrieves of live batches
    # come and go with their 30 s schedule); viewers would add their own on top.
    assert alone > 0
    assert watched <= alone * 1.5 + 1
    async with asyncio.timeout(10):
        while shared.server.stats.viewer_pids:
            await asyncio.sleep(0.05)


async def test_a_tab_takes_the_warm_spare_and_gets_the_whole_board(shared: Shared) -> None:
    """A viewer builds its board from the whole feed (seconds, once a share has run for
    hours): a spare started before the tab did that already. The tab gets the spare, drawn
    whole at the tab's size (not under the spare's small first screen), and a new spare
    starts for the next tab."""
    async with asyncio.timeout(FIRST_SCREEN):
        while not (shared.server._spare is not None and shared.server._spare.painted):
            await asyncio.sleep(0.05)
    spare = shared.server._spare.pid
    async with aiohttp.ClientSession() as http:
        tab = await open_tab(http, shared)
        await tab.until("batch_")
        # Textual's first frame at a new size can be laid out part-way (the rule on top);
        # the next ones are whole.
        shown = await tab.until(lambda text: text.startswith(" batchtop · prod · gateway.test"))
        assert shared.server.stats.viewer_pids == [spare]
        lines = shown.splitlines()
        assert lines[0].startswith(" batchtop · prod · gateway.test") and "REPLAY" in lines[0]
        assert lines[1].split()[:3] == ["PENDING", "SUCCEEDED", "FAILED"]  # not the 20-column layout
        # The terminal modes the spare set before any tab was there: mouse events, alternate screen.
        assert b"\x1b[?1000h" in tab.received
        assert b"\x1b[?1049h" in tab.received[: tab.received.index(b"\x1b[1;1H")]
        assert shared.server._spare is not None and shared.server._spare.pid != spare
        await tab.ws.close()


async def test_a_viewer_that_fails_is_told_on_the_share_terminal_made_safe(tmp_path: Path) -> None:
    import sys

    failing = [sys.executable, "-c", "import sys; sys.stderr.write('Traceback\\nboom \\x1b[2J evil\\n'); sys.exit(3)"]
    said: list[str] = []
    feed = tmp_path / "feed.ndjson.gz"
    feed.write_bytes(b"")
    server = ShareServer(
        feed, Access(new_token(), "127.0.0.1"), command=lambda path: failing, on_viewer=said.append, spare=False
    )
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            ws_url = server.access.board_url.replace("http://", "ws://") + "ws"
            ws = await http.ws_connect(ws_url, headers={"Origin": server.access.base_url})
            async with asyncio.timeout(10):
                message = await ws.receive()  # the tab is closed when its viewer ends
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    finally:
        await server.stop()
    assert "a viewer did not start: boom \\x1b[2J evil" in said
    assert not any("\x1b" in line for line in said)


# -- the command ----------------------------------------------------------------------


def test_a_busy_port_is_one_line_exit_1_and_leaves_no_empty_feed(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from tui.cli import main
    from tui.record import recordings_dir

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["share", "--demo", "--port", str(port)]) == 1
    # One line of ours (a garbage-collected object of another test may warn on stderr too).
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("batchtop:")]
    assert ours == [
        f"batchtop: cannot listen on 127.0.0.1:{port}: address already in use; give --port N (0 for any free port)"
    ]
    assert not recordings_dir().exists() or not list(recordings_dir().iterdir())


def test_a_feed_file_that_exists_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    feed = tmp_path / "feed.ndjson.gz"
    feed.write_bytes(b"someone else's")
    assert main(["share", "--demo", "--port", "0", "--feed", str(feed)]) == 2
    assert "already exists; a recording is never appended to or overwritten" in capsys.readouterr().err
    assert feed.read_bytes() == b"someone else's"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--public-url", "board.example.com"], "expected http(s)://HOST[:PORT]"),
        (["--public-url", "https://board.example.com/board"], "scheme, host and port only"),
        (["--view", "incident"], "no view 'incident'"),
    ],
)
def test_bad_share_flags_are_one_line_and_exit_2(args, says, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["share", *args]) == 2
    assert says in capsys.readouterr().err


def test_the_share_terminal_hears_when_polls_fail_and_come_back() -> None:
    from tui.api import GatewayError
    from tui.monitor.runner import PollReport
    from tui.share.sharing import PollNews

    said: list[str] = []
    news = PollNews(said.append)
    down = GatewayError("cannot connect to 127.0.0.1:1", short="cannot connect")
    for report in (
        PollReport("openai", error=down),
        PollReport("openai", error=down),  # the same again: already said
        PollReport("anthropic"),  # healthy all along: nothing to say
        PollReport("openai", error=GatewayError("403", short="403 key\x1b[2J rejected")),
        PollReport("openai"),
        PollReport("openai"),
    ):
        news(report)
    assert [line.split(" ", 1)[1] for line in said] == [
        "openai: cannot connect (the poller retries; viewers see it on the board)",
        "openai: 403 key\\x1b[2J rejected (the poller retries; viewers see it on the board)",
        "openai: polling again",
    ]
