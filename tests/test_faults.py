"""Fault tolerance: the live board and the CLI against a misbehaving gateway.

Every app test runs the real app (Textual Pilot, 80x24) against the simulator on loopback
with a frozen clock and a fixed seed, at a poll interval of 0.1 s so that backoff and
recovery happen in real time within a second or two. Each shows, for its fault:

- no crash: the app still runs and ``app.internal_errors`` stays empty;
- the last known data is kept (same rows, same board entries) and marked stale;
- the provider status line names the cause in a few words;
- recovery without a keypress once the fault ends (except where the schedule says a
  person must ask: a rejected key, an unsupported provider).

The CLI part checks exit code 1 with one clear line on stderr and no traceback, and 0 once
the fault is gone.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from rich.text import Text

from apphelp import START, FakeClock
from tui.api import BifrostClient
from tui.app import BatchtopApp
from tui.cli import main
from tui.config import Profile
from tui.monitor import ProviderState
from tui.monitor.schedule import AUTH_RETRY
from tui.session import Session
from tui.sim import FaultRule, SimServer
from tui.widgets.batch_table import BatchTable

REPO = Path(__file__).resolve().parent.parent
PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
INTERVAL = 0.1
TIMEOUT = 0.3


# -- helpers ------------------------------------------------------------------------------


class FaultSession(Session):
    """A session whose client can be built with a smaller body cap than the default 16 MB,
    so that "response too large" can be shown without pushing 16 MB through loopback."""

    max_body_bytes: int | None = None

    def client(self) -> BifrostClient:
        client = super().client()
        if self.max_body_bytes is not None:
            client._max_body_bytes = self.max_body_bytes
        return client


def fault_session(base_url: str, *, providers=PROVIDERS, interval: float = INTERVAL,
                  timeout: float = TIMEOUT, ca_bundle: Path | None = None, api_key: str | None = None,
                  max_body_bytes: int | None = None) -> FaultSession:
    """A session on ``base_url`` with a short interval and timeout (session_for has neither)."""
    settings: dict[str, object] = {"base_url": base_url, "providers": list(providers),
                                   "interval": interval, "timeout": timeout}
    if ca_bundle is not None:
        settings["ca_bundle"] = str(ca_bundle)
    session = FaultSession("test", Profile.model_validate(settings), api_key, None, label="gateway.test")
    session.max_body_bytes = max_body_bytes
    return session


def fault_app(base_url: str, **options) -> BatchtopApp:
    return BatchtopApp(fault_session(base_url, **options), clock=FakeClock())


def table_of(app: BatchtopApp) -> BatchTable:
    return app.screen.query_one(BatchTable)


def line(app: BatchtopApp, selector: str) -> str:
    rendered = app.screen.query_one(selector).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def sim_keys(sim: SimServer, providers=PROVIDERS) -> set[tuple[str, str]]:
    return {(p, str(b["id"])) for p in providers for b in sim.world.batches(p)}


def board_snapshot(app: BatchtopApp) -> dict[tuple[str, str], object]:
    return {t.key: t.batch for t in app.board.tracked()}


def assert_same_board(now: dict, before: dict) -> None:
    assert set(now) == set(before)
    changed = {}
    for key, batch in now.items():
        if batch != before[key]:
            old, new = before[key].model_dump(), batch.model_dump()
            changed[key] = {f: (old[f], new[f]) for f in old if old[f] != new[f]}
    assert not changed, changed


def states(app: BatchtopApp) -> dict[str, ProviderState]:
    return {p: h.state for p, h in app.health.items()}


def all_in(app: BatchtopApp, state: ProviderState) -> Callable[[], bool]:
    return lambda: all(h.state is state and not h.in_flight for h in app.health.values())


def healthy(app: BatchtopApp) -> None:
    assert app.is_running
    assert app.internal_errors == []


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` real seconds.

    Sleeps with asyncio rather than ``pilot.pause``, which first waits for the screen to
    drain its message queue: at a 0.1 s interval that queue is rarely empty.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class RequestLog:
    """When each batch-API request reached the simulator (monotonic seconds)."""

    def __init__(self, sim: SimServer) -> None:
        self.times: list[float] = []
        original = sim.count_request

        def counted() -> None:
            self.times.append(time.monotonic())
            original()

        sim.count_request = counted  # type: ignore[method-assign]

    def since(self, moment: float) -> list[float]:
        return [t for t in self.times if t >= moment]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(seed=7, frozen=True, start_time=START).start()
    try:
        yield server
    finally:
        server.stop()


async def first_data(pilot, app: BatchtopApp, sim: SimServer) -> tuple[int, dict]:
    """Wait until every provider has answered once; return (row count, board snapshot)."""
    await wait_until(pilot, all_in(app, ProviderState.OK))
    await pilot.pause()
    healthy(app)
    rows = table_of(app).row_count
    assert rows == len(sim_keys(sim, tuple(app.health)))
    return rows, board_snapshot(app)


async def assert_kept_and_stale(pilot, app: BatchtopApp, rows: int, snapshot: dict, cause: str,
                                providers=None) -> str:
    """Every provider (or those given) stale, the rows kept, the cause on the status line."""
    chosen = providers or tuple(app.health)
    await wait_until(pilot, lambda: all(app.health[p].state is ProviderState.STALE for p in chosen), 8)
    await pilot.pause()
    healthy(app)
    assert table_of(app).row_count == rows
    assert_same_board(board_snapshot(app), snapshot)
    status = line(app, "#providers")
    assert "stale" in status, status
    assert cause in status, status
    return status


async def assert_recovers(pilot, app: BatchtopApp, sim: SimServer, rows: int, timeout: float = 8) -> None:
    await wait_until(pilot, all_in(app, ProviderState.OK), timeout)
    await pilot.pause()
    healthy(app)
    assert table_of(app).row_count == rows
    assert set(board_snapshot(app)) == sim_keys(sim, tuple(app.health))
    assert "stale" not in line(app, "#providers")


# -- one fault at a time, after the first data ---------------------------------------------


@dataclass(frozen=True)
class Fault:
    rule: FaultRule | None  # None: the gateway goes down
    cause: str
    max_body_bytes: int | None = None

    def __str__(self) -> str:
        return self.cause


MID_RUN_FAULTS = {
    "down": Fault(None, "cannot connect"),
    "reset": Fault(FaultRule("reset"), "connection dropped"),
    "drop": Fault(FaultRule("drop"), "connection dropped"),
    "read-timeout": Fault(FaultRule("latency", delay=1.0), "read timeout"),
    "trickle": Fault(FaultRule("trickle", rate=50), "too slow"),
    "500": Fault(FaultRule("status", status=500), "500 from gateway"),
    "502": Fault(FaultRule("status", status=502), "502 from gateway"),
    "503": Fault(FaultRule("status", status=503), "503 from gateway"),
    "504": Fault(FaultRule("status", status=504), "504 from gateway"),
    "malformed-json": Fault(FaultRule("malformed_json"), "malformed response"),
    "wrong-shape": Fault(FaultRule("wrong_shape"), "malformed response"),
    "oversized": Fault(FaultRule("oversized", size=300_000), "response too large", max_body_bytes=200_000),
}


@pytest.mark.parametrize("fault", list(MID_RUN_FAULTS.values()), ids=list(MID_RUN_FAULTS))
async def test_fault_mid_run_keeps_data_marks_stale_and_recovers(sim: SimServer, fault: Fault) -> None:
    app = fault_app(sim.base_url, max_body_bytes=fault.max_body_bytes)
    t0 = time.monotonic()
    async with app.run_test(size=(80, 24)) as pilot:
        rows, snapshot = await first_data(pilot, app, sim)
        t1 = time.monotonic()
        await wait_until(pilot, lambda: not any(h.in_flight for h in app.health.values()))
        if fault.rule is None:
            sim.go_down()
        else:
            sim.faults.add(fault.rule)
        await assert_kept_and_stale(pilot, app, rows, snapshot, fault.cause)
        t2 = time.monotonic()
        print({p: h.failures for p, h in app.health.items()})
        if fault.rule is None:
            sim.come_up()
        else:
            sim.faults.clear()
        await assert_recovers(pilot, app, sim, rows)
        t3 = time.monotonic()
    t4 = time.monotonic()
    print(f"TIMING start {t1-t0:.2f} stale {t2-t1:.2f} recover {t3-t2:.2f} exit {t4-t3:.2f}")
