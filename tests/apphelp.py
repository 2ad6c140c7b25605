"""Helpers for Pilot tests of the app against the simulator.

Tests watch the app from outside: the messages it handles (its workers' ``PollFinished``,
``CancelAnswered`` …, and every notification), recorded through ``run_test``'s
``message_hook``, and what its widgets show. ``WatchedApp`` is the app with that recorder.
"""

from __future__ import annotations

import inspect
import io
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.text import Text
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widgets import Static

from tui.config import Profile
from tui.session import Session
from tui.sim import SimServer
from tui.ui.app import BatchtopApp
from tui.ui.messages import CancelAnswered, CancelFinished, PollFinished, ProviderStateChanged
from tui.ui.widgets.batch_table import BatchTable, row_key

START = 1_764_050_000.0
"""The simulator's frozen start; the app's clock is pinned a little after it."""

WATCHED = (PollFinished, ProviderStateChanged, CancelAnswered, CancelFinished, Notify)
"""The messages a MessageLog keeps: the app's own, and notifications."""

DRAWING_ERROR = "internal error while drawing"

M = TypeVar("M", bound=Message)


class FakeClock:
    """The app's wall clock, moved by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MessageLog:
    """The WATCHED messages an app handled, in order (a ``message_hook`` for ``run_test``)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.counts: Counter[type[Message]] = Counter()
        self.kept: deque[Message] = deque(maxlen=keep)
        """The latest ``keep`` of them (a soak handles many)."""
        self.listeners: list[Callable[[Message], None]] = []
        """Called with each, as the app is about to handle it."""
        self.hooked = False
        self._drawing_errors: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, WATCHED):
            self.counts[type(message)] += 1
            self.kept.append(message)
            if isinstance(message, Notify) and str(message.notification.message).startswith(DRAWING_ERROR):
                self._drawing_errors.append(str(message.notification.message))
            for listener in self.listeners:
                listener(message)

    def count(self, kind: type[Message]) -> int:
        return self.counts[kind]

    def of(self, kind: type[M]) -> list[M]:
        return [m for m in self.kept if isinstance(m, kind)]

    def notifications(self) -> list[Notification]:
        return [m.notification for m in self.of(Notify)]

    def said(self, words: str) -> bool:
        """Whether a notification said ``words``."""
        return any(words in str(n.message) for n in self.notifications())

    def drawing_errors(self) -> list[str]:
        """Every redraw that failed (the app says so and goes on), kept or not: tests expect none."""
        return list(self._drawing_errors)


class WatchedApp(BatchtopApp):
    """The app as the tests run it: ``run_test`` records what it handles in ``messages``.

    (Snapshot tests run the app through ``App.run``, without a hook: they wait on what the
    screen's data says instead.)"""

    CSS_PATH = Path(inspect.getfile(BatchtopApp)).parent / BatchtopApp.CSS_PATH  # not beside this file

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.messages = MessageLog()

    def run_test(self, **options):  # type: ignore[override]
        self.messages.hooked = True
        return super().run_test(message_hook=self.messages, **options)


def session_for(
    sim: SimServer,
    *,
    providers=("openai", "anthropic", "bedrock", "gemini"),
    interval: float = 3600.0,
    read_only: bool = False,
    name: str = "test",
    protected: bool = False,
    base_url: str | None = None,
    api: str = "bifrost",
    api_key: str | None = None,
) -> Session:
    profile = Profile.model_validate(
        {
            "base_url": base_url or sim.base_url,
            "api": api,
            **({"providers": list(providers)} if api != "anthropic" else {}),
            "interval": interval,
            "read_only": read_only,
            "protected": protected,
        }
    )
    return Session(name, profile, api_key, None, label="gateway.test")


def make_app(sim: SimServer, clock: FakeClock | None = None, **options) -> WatchedApp:
    return WatchedApp(session_for(sim, **options), clock=clock or FakeClock())


# -- waiting ------------------------------------------------------------------------------


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def polls(app: WatchedApp) -> int:
    """Polls finished (ok or failed) since the app started."""
    assert app.messages.hooked, "the app was not started with run_test: no messages are recorded"
    return app.messages.count(PollFinished)


def idle(app: BatchtopApp) -> bool:
    """No provider is being polled."""
    return not any(h.in_flight for _, h in app.health())


async def wait_for_polls(pilot: Pilot, app: WatchedApp, count: int | None = None) -> None:
    """Wait until every provider has finished one more poll than now (or ``count`` polls
    since the start), with none in flight; no redraw may have failed meanwhile."""
    target = count if count is not None else polls(app) + len(app.health())
    await wait_until(pilot, lambda: polls(app) >= target and idle(app))
    await pilot.pause()
    assert app.messages.drawing_errors() == []


async def refresh(pilot: Pilot, app: WatchedApp) -> None:
    """Press r and wait for every provider's poll to finish."""
    target = polls(app) + len(app.health())
    await pilot.press("r")
    await wait_for_polls(pilot, app, target)


# -- reading the screen -------------------------------------------------------------------


def table_of(app: BatchtopApp) -> BatchTable:
    """The board's table (whichever screen is on top)."""
    return app.board_screen.table


def cell(app: BatchtopApp, key: tuple[str, ...], column: str) -> str:
    value = table_of(app).get_cell(row_key(key), column)
    return value.plain if isinstance(value, Text) else str(value)


def table_text(app: BatchtopApp) -> str:
    """The table's column labels, then each row's cells, one line per row, as plain text."""
    table = table_of(app)
    columns = [c.key for c in table._columns]
    lines = [" ".join(c.label for c in table._columns)]
    lines += [" ".join(cell(app, key, column) for column in columns) for key in table._order]
    return "\n".join(lines)


def plain(renderable) -> str:
    """The text a renderable shows, whatever it is (str, Text, Content, a rich Table)."""
    if isinstance(renderable, str):
        return renderable
    if hasattr(renderable, "plain"):
        return renderable.plain
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def text_of(app: BatchtopApp, selector: str) -> str:
    """What a Static on the screen on top holds, as plain text."""
    return plain(app.screen.query_one(selector, Static).content)
