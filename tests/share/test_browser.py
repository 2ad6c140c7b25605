"""``batchtop share`` in a real browser (issue 13, part 4): Debian's headless Chromium,
driven by Selenium through Debian's chromium-driver, against ``batchtop share --demo`` run
as a person runs it (a subprocess, its link read from what it prints).

What the browser receives is read from the websocket itself: a script installed before the
page loads keeps the text of every frame the board sends (xterm.js draws on a canvas, so
the DOM holds no text). Run with ``-m browser`` (see the README).
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
RENDER_WITHIN = 30.0
"""Seconds for the first board to reach the page (one Python and Textual start, plus Chromium)."""

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 — after the skip: selenium comes with the test extra
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402

# Kept by the page: the text of each frame the board's websocket sends, and how the
# websockets it opened ended ("open", "error", "close").
RECORD_FRAMES = """
window.__frames = [];
window.__sockets = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
  const events = [];
  window.__sockets.push(events);
  ws.addEventListener("open", () => events.push("open"));
  ws.addEventListener("error", () => events.push("error"));
  ws.addEventListener("close", () => events.push("close"));
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") window.__frames.push(new TextDecoder().decode(e.data));
  });
  return ws;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``batchtop share --demo`` on a free port; yields the link it prints."""
    home = tmp_path_factory.mktemp("share-home")
    env = {**os.environ, "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "share", "--demo", "--port", "0", "--max-viewers", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    link = None
    deadline = time.monotonic() + 30
    lines = []
    while link is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if found := re.search(r"open\s+(http://\S+/t/\S+/)", line):
            link = found.group(1)
    assert link, "batchtop share printed no link:\n" + "".join(lines)
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe drained
    yield link
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_FRAMES})
    yield driver
    driver.quit()


def received(driver: webdriver.Chrome) -> str:
    return "".join(driver.execute_script("return window.__frames || []"))


def wait_for(driver: webdriver.Chrome, wanted: str, timeout: float = RENDER_WITHIN) -> float:
    """Seconds until the page has received ``wanted`` from the board."""
    started = time.monotonic()
    while wanted not in received(driver):
        assert time.monotonic() - started < timeout, f"the page never received {wanted!r}"
        time.sleep(0.1)
    return time.monotonic() - started


def test_the_token_link_renders_the_board_and_keys_reach_it_but_cancel_cannot(
    share: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    started = time.monotonic()
    browser.get(share)
    wait_for(browser, "REPLAY")
    wait_for(browser, "batch_")
    first_render = time.monotonic() - started
    assert "-first-byte" in browser.find_element("tag name", "body").get_attribute("class")
    browser.save_screenshot(str(tmp_path / "board.png"))
    print(f"\nfirst board in the browser after {first_render:.2f} s; screenshot {tmp_path / 'board.png'}")
    terminal = browser.find_element("id", "terminal")
    ActionChains(browser).click(terminal).send_keys("p").perform()
    wait_for(browser, "paused", timeout=10)
    ActionChains(browser).send_keys("c").perform()
    wait_for(browser, "nothing can be cancelled", timeout=10)
    assert browser.execute_script("return window.__sockets[0]") == ["open"]


def test_a_link_without_its_token_is_refused(share: str, browser: webdriver.Chrome) -> None:
    base = share.split("/t/")[0]
    for url in (base + "/", base + "/t/wrong-token/", share.replace("/t/", "/t/x")):
        browser.get(url)
        assert "its token is missing or wrong" in browser.find_element("tag name", "body").text
        assert "REPLAY" not in received(browser)


class _ForeignSite(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


def test_another_sites_page_cannot_open_the_board_even_knowing_the_link(share: str, browser: webdriver.Chrome) -> None:
    """The Origin check: a page served from another origin (another port of loopback) opens
    the board's websocket with the full link; the server refuses the handshake."""
    ws_url = share.replace("http://", "ws://") + "ws?width=80&height=24"
    _ForeignSite.page = f"<html><body><script>new WebSocket({ws_url!r});</script>foreign page</body></html>".encode()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForeignSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{site.server_address[1]}/")
        deadline = time.monotonic() + 10
        while browser.execute_script("return (window.__sockets[0] || []).length") < 2:
            assert time.monotonic() < deadline, browser.execute_script("return window.__sockets")
            time.sleep(0.1)
        assert browser.execute_script("return window.__sockets[0]") == ["error", "close"]
        assert received(browser) == ""
    finally:
        site.shutdown()


def test_chromium_and_chromedriver_are_debians() -> None:
    """What the suite installs: nothing outside Debian and PyPI packages."""
    assert shutil.which("chromium") == CHROMIUM and shutil.which("chromedriver") == CHROMEDRIVER
