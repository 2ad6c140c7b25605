"""Helpers for Pilot tests of the app against the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from tui.ui.app import BatchtopApp
from tui.config import Profile
from tui.session import Session
from tui.sim import SimServer

START = 1_764_050_000.0
"""The simulator's frozen start; the app's clock is pinned a little after it."""


class FakeClock:
    """The app's wall clock, moved by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def session_for(sim: SimServer, *, providers=("openai", "anthropic", "bedrock", "gemini"),
                interval: float = 3600.0, read_only: bool = False, name: str = "test",
                protected: bool = False) -> Session:
    profile = Profile.model_validate({
        "base_url": sim.base_url,
        "providers": list(providers),
        "interval": interval,
        "read_only": read_only,
        "protected": protected,
    })
    return Session(name, profile, None, None, label="gateway.test")


def make_app(sim: SimServer, clock: FakeClock | None = None, **options) -> BatchtopApp:
    return BatchtopApp(session_for(sim, **options), clock=clock or FakeClock())


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def wait_for_polls(pilot: Pilot, app: BatchtopApp, count: int | None = None) -> None:
    """Wait until every provider has finished one more poll than now (or ``count`` polls)."""
    target = count if count is not None else app.polls_completed + len(app.health)
    await wait_until(pilot, lambda: app.polls_completed >= target
                     and not any(h.in_flight for h in app.health.values()))
    await pilot.pause()
    assert app.internal_errors == []


async def refresh(pilot: Pilot, app: BatchtopApp) -> None:
    """Press r and wait for every provider's poll to finish."""
    target = app.polls_completed + len(app.health)
    await pilot.press("r")
    await wait_for_polls(pilot, app, target)
