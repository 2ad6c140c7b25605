"""The poll loop: each provider polled when its schedule says, one poll at a time. No Textual.

Per provider: wait until due (or until asked to poll now), run one poll, take what it found
into the board, update the provider's health, and report the finished poll. The next poll
is scheduled only when the last one has finished, so a slow gateway never sees polls pile
up. A poll lists only page one; after the first poll, and then every
:data:`HISTORY_WALK_EVERY` seconds, the provider's whole history is walked page by page,
each page taken into the board and reported as it arrives (so page one is on screen while
the rest is on its way). Whoever shows the board (the Textual app) passes callbacks and runs :meth:`PollRunner.run`
as one task; the callbacks are called on that task, between polls, and must neither block
nor raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tui.api import BifrostClient, GatewayError
from tui.api.client import BatchListing
from tui.monitor.board import Board, BoardChange
from tui.monitor.poller import PAGE_ONE_MAX, poll_provider, walk_history
from tui.monitor.schedule import ProviderHealth
from tui.monitor.tap import HISTORY_PAGE, PAGE_ONE, PollTap

MIN_WAIT = 0.05
"""Never poll a provider again sooner than this (seconds), whatever its schedule says."""
HISTORY_WALK_EVERY = 300.0
"""Seconds between walks of a provider's whole history (after the first, at start)."""
HISTORY_WALK_RETRY = 10.0
"""Seconds before a walk that failed part-way goes on, from the page that failed."""


@dataclass(frozen=True)
class PollReport:
    """How one poll of one provider ended."""

    provider: str
    change: BoardChange = field(default_factory=BoardChange)
    """Rows the poll added or changed (none when it failed)."""
    error: GatewayError | None = None
    """Why the poll failed; None when it succeeded."""
    unexpected: str | None = None
    """The type of a failure that was no gateway error (a surprise in the gateway's data),
    worth a line in the log."""
    next_poll_at: float = 0.0
    """When the provider is polled next (the runner's clock)."""
    origin: str = ""
    """The profile polled, on a board of several profiles ("" otherwise)."""
    whole_list: bool = False
    """The poll's page one was the provider's whole list, so no walk of its history is due."""
    walk_ended: bool = False
    """The provider's history walk has ended or stopped (a pause, a failed page): its last
    page was reported before this report, which has no batches of its own. A screen that
    holds back redraws while pages pour in draws now if no other walk is running."""

    @property
    def ok(self) -> bool:
        return self.error is None


class CollectorPause:
    """The cyclic garbage collector off while history walks run, for all runners at once
    (a board of several profiles walks several histories together).

    A walk of 10,000 batches makes a few hundred thousand objects that live as long as the
    board. The collector, counting them as they come, ran young collections over them a
    hundred times and middle ones every half second (25 ms each) during the walk: 0.25 s
    of a 4 s start (issue 10 d). Little of what a walk makes is garbage in a cycle
    (reference counting frees the rest at once), and what is waits seconds, not longer.
    The collector is back when the last walk ends, or once a walk has run for MAX_PAUSE
    seconds (a slow gateway's), and is left alone if it was off already."""

    MAX_PAUSE = 30.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._holders = 0
        self._since: float | None = None
        """When it was switched off here; None while it is on (or was off already)."""

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._holders == 0 and gc.isenabled():
            gc.disable()
            self._since = self._clock()
        self._holders += 1
        try:
            yield
        finally:
            self._holders -= 1
            if self._holders == 0:
                self._release()

    def check(self) -> None:
        """Called between pages: a pause that has lasted MAX_PAUSE ends."""
        if self._since is not None and self._clock() - self._since > self.MAX_PAUSE:
            self._release()

    def _release(self) -> None:
        if self._since is not None:
            self._since = None
            gc.enable()


COLLECTOR_PAUSE = CollectorPause()


class PollRunner:
    """Polls the providers of one profile into one board until stopped. A board of several
    profiles has one runner per profile, each with its own client, all into the one board."""

    def __init__(
        self,
        providers: list[str],
        *,
        interval: float,
        board: Board,
        clock: Callable[[], float],
        on_poll_started: Callable[[str], object] = lambda provider: None,
        on_poll_finished: Callable[[PollReport], object] = lambda report: None,
        on_history_page: Callable[[PollReport], object] = lambda report: None,
        walk_every: float = HISTORY_WALK_EVERY,
        origin: str = "",
        tap: PollTap | None = None,
    ) -> None:
        self.board = board
        self.origin = origin
        """The profile polled, on a board of several profiles: its reports say so."""
        self.tap = tap
        """Told of every poll the board takes (a recording), when set."""
        self.clock = clock
        now = clock()
        self.health = {provider: ProviderHealth(provider, interval, next_poll_at=now) for provider in providers}
        """Each provider's poll bookkeeping, in the profile's order."""
        self._on_poll_started = on_poll_started
        self._on_poll_finished = on_poll_finished
        self._on_history_page = on_history_page
        self.walk_every = walk_every
        self.next_walk_at = {provider: now for provider in providers}
        """When each provider's history is walked next (the runner's clock)."""
        self._walk_notes: dict[str, str | None] = {}
        self._page_one: dict[str, int] = {}
        """How long each provider's next page one is (the last poll's ``next_limit``)."""
        self._walks: dict[str, BatchListing] = {}
        """Each provider's walk in progress (stopped by a failed page or a pause), to resume."""
        self._walking: set[str] = set()
        """Providers whose walk is running at this moment."""
        self._running = asyncio.Event()
        self._running.set()
        self._wake = {provider: asyncio.Event() for provider in self.health}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def walking(self) -> bool:
        """A history walk is running (pages are on their way)."""
        return bool(self._walking)

    async def run(self, client: BifrostClient) -> None:
        """Poll every provider through ``client`` until :meth:`stop` (or cancellation)."""
        if self._stopped:
            return
        async with asyncio.TaskGroup() as group:
            self._tasks = [
                group.create_task(self._follow(client, provider), name=f"poll {provider}") for provider in self.health
            ]

    def stop(self) -> None:
        """End every provider's loop, a poll in flight included."""
        self._stopped = True
        for task in self._tasks:
            task.cancel()

    def pause(self) -> None:
        """Start no new poll until :meth:`resume` (a poll in flight still finishes)."""
        self._running.clear()

    def resume(self) -> None:
        """Poll again, at once."""
        self._running.set()
        self.poll_now()

    def poll_now(self) -> None:
        """Poll every provider now, except those already polling or asked by the gateway to wait."""
        now = self.clock()
        for provider, health in self.health.items():
            health.poll_now(now)
            if health.due(now):
                self._wake[provider].set()

    async def _follow(self, client: BifrostClient, provider: str) -> None:
        health = self.health[provider]
        while True:
            await self._running.wait()
            self._poll_started(health)
            report = await self._poll(client, health)
            self._on_poll_finished(report)
            if report.ok and self.clock() >= self.next_walk_at[provider]:
                if report.whole_list:  # nothing past page one: a walk would list it again
                    self._walks.pop(provider, None)
                    self._walk_notes.pop(provider, None)
                    self.next_walk_at[provider] = self.clock() + self.walk_every
                else:
                    await self._walk(client, health)
            await self._wait_until_due(health)

    def _poll_started(self, health: ProviderHealth) -> None:
        health.in_flight = True
        self._on_poll_started(health.provider)

    async def _poll(self, client: BifrostClient, health: ProviderHealth) -> PollReport:
        provider = health.provider
        try:
            poll = await poll_provider(client, provider, self.board, limit=self._page_one.get(provider, PAGE_ONE_MAX))
        except GatewayError as exc:
            health.failed(self.clock(), exc)
            if self.tap is not None:
                self.tap.failed(self.origin, provider, exc)
            return PollReport(provider, error=exc, next_poll_at=health.next_poll_at, origin=self.origin)
        except Exception as exc:  # noqa: BLE001 — a surprise in gateway data must not end polling
            error = GatewayError(f"unexpected answer from gateway ({type(exc).__name__})", short="unexpected answer")
            health.failed(self.clock(), error)
            if self.tap is not None:
                self.tap.failed(self.origin, provider, error)
            return PollReport(
                provider,
                error=error,
                unexpected=type(exc).__name__,
                next_poll_at=health.next_poll_at,
                origin=self.origin,
            )
        self._page_one[provider] = poll.next_limit
        change = self.board.take(poll)
        if self.tap is not None:
            self.tap.polled(self.origin, poll, PAGE_ONE)
        health.succeeded(self.clock(), note=poll.listing_note or self._walk_notes.get(provider))
        return PollReport(
            provider, change=change, next_poll_at=health.next_poll_at, origin=self.origin, whole_list=poll.whole_list
        )

    async def _walk(self, client: BifrostClient, health: ProviderHealth) -> None:
        """Walk the provider's history into the board, page by page, reporting each page.
        A pause stops the walk until resumed, a failed page for HISTORY_WALK_RETRY seconds;
        either way the walk goes on from where it stopped (a long walk that started over at
        each failed page might never finish on a gateway that fails one answer in five)."""
        provider = health.provider
        self._walking.add(provider)
        try:
            with COLLECTOR_PAUSE.held():
                await self._walk_pages(client, health)
        finally:
            self._walking.discard(provider)
        self._on_history_page(
            PollReport(provider, next_poll_at=health.next_poll_at, origin=self.origin, walk_ended=True)
        )

    async def _walk_pages(self, client: BifrostClient, health: ProviderHealth) -> None:
        provider = health.provider
        listing = self._walks.setdefault(provider, BatchListing(provider))
        note: str | None = None
        try:
            async for poll in walk_history(client, provider, self.board, listing=listing):
                COLLECTOR_PAUSE.check()
                change = self.board.take(poll)
                if self.tap is not None:
                    self.tap.polled(self.origin, poll, HISTORY_PAGE)
                note = poll.listing_note or note
                self._on_history_page(
                    PollReport(provider, change=change, next_poll_at=health.next_poll_at, origin=self.origin)
                )
                if self.paused:
                    return  # next_walk_at unchanged: the walk goes on once resumed
        except GatewayError:
            self.next_walk_at[provider] = self.clock() + HISTORY_WALK_RETRY
            return
        except Exception:  # noqa: BLE001 — as in _poll: a surprise in gateway data must not end polling
            del self._walks[provider]  # start over: the page it stopped at may be the surprise
            self.next_walk_at[provider] = self.clock() + HISTORY_WALK_RETRY
            return
        del self._walks[provider]
        self.next_walk_at[provider] = self.clock() + self.walk_every
        self._walk_notes[provider] = note
        health.note = note

    async def _wait_until_due(self, health: ProviderHealth) -> None:
        wake = self._wake[health.provider]
        wake.clear()
        delay = max(health.next_poll_at - self.clock(), MIN_WAIT)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()
