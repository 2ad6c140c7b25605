"""The poll loop without Textual: against the simulator over loopback HTTP, or a fake client
where the simulator cannot produce the case (a surprise in its data, a poll that hangs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from tui.api import Batch, BifrostClient
from tui.api.client import BatchListing
from tui.monitor import Board, ProviderState
from tui.monitor.runner import PollReport, PollRunner
from tui.sim import FaultRule, SimServer

START = 1_764_050_000.0
PROVIDERS = ["openai", "anthropic", "bedrock", "gemini"]


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Polls:
    """What a runner reported: (event, provider, real time), and the finished reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.reports: list[PollReport] = []

    def started(self, provider: str) -> None:
        self.events.append(("started", provider, time.monotonic()))

    def finished(self, report: PollReport) -> None:
        self.events.append(("finished", report.provider, time.monotonic()))
        self.reports.append(report)

    def of(self, provider: str) -> list[PollReport]:
        return [r for r in self.reports if r.provider == provider]

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        await until(lambda: len(self.reports) >= count, timeout)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def runner_for(
    providers: list[str], polls: Polls, *, interval: float = 3600.0, clock: FakeClock | None = None
) -> PollRunner:
    clock = clock or FakeClock()
    return PollRunner(
        providers,
        interval=interval,
        board=Board(clock),
        clock=clock,
        on_poll_started=polls.started,
        on_poll_finished=polls.finished,
    )


def openai_runner(clock: FakeClock, polls: Polls, **options) -> PollRunner:
    """A runner of one provider (openai), polled every second on ``clock``."""
    return PollRunner(
        ["openai"], interval=1.0, board=Board(clock), clock=clock, on_poll_finished=polls.finished, **options
    )


@asynccontextmanager
async def running(runner: PollRunner, client) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run(client))
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, 2)


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[BifrostClient]:
    async with BifrostClient(sim.base_url, timeout=0.5) as client:
        yield client


def sim_keys(sim: SimServer, providers=PROVIDERS) -> set[tuple[str, str]]:
    return {(p, str(b["id"])) for p in providers for b in sim.world.batches(p)}


# -- polling -------------------------------------------------------------------------------


async def test_first_polls_fill_the_board_and_report_each_provider(sim: SimServer, client: BifrostClient) -> None:
    polls = Polls()
    clock = FakeClock()
    runner = runner_for(PROVIDERS, polls, clock=clock)
    assert all(h.state is ProviderState.CONNECTING and not h.in_flight for h in runner.health.values())
    async with running(runner, client):
        await polls.wait_for(4)
        assert {t.key for t in runner.board.tracked()} == sim_keys(sim)
        for provider in PROVIDERS:
            (report,) = polls.of(provider)
            assert report.ok and report.error is None
            assert set(report.change.added) == sim_keys(sim, [provider])
            assert report.next_poll_at == START + 3600
            health = runner.health[provider]
            assert health.state is ProviderState.OK and health.last_ok_at == START and not health.in_flight
            # Each poll is announced before it runs, and reported once it is done.
            mine = [event for event, p, _ in polls.events if p == provider]
            assert mine == ["started", "finished"]
        await asyncio.sleep(0.2)
        assert len(polls.reports) == 4  # an hour's interval: no second poll


async def test_a_poll_that_changes_nothing_reports_no_change(sim: SimServer, client: BifrostClient) -> None:
    polls = Polls()
    runner = runner_for(["openai"], polls)
    async with running(runner, client):
        await polls.wait_for(1)
        runner.poll_now()
        await polls.wait_for(2)
    assert polls.reports[0].change and not polls.reports[1].change  # the frozen simulator


async def test_the_next_poll_waits_until_it_is_due(sim: SimServer, client: BifrostClient) -> None:
    polls = Polls()
    runner = runner_for(["openai"], polls, interval=0.15)
    async with running(runner, client):
        await polls.wait_for(4)
    finished = [at for event, _, at in polls.events if event == "finished"]
    started = [at for event, _, at in polls.events if event == "started"]
    # One at a time, and the next only an interval after the last one finished.
    assert all(s > f for s, f in zip(started[1:], finished))
    assert all(s - f >= 0.14 for s, f in zip(started[1:], finished)), (started, finished)


async def test_poll_now_polls_at_once_unless_the_gateway_asked_to_wait(sim: SimServer, client: BifrostClient) -> None:
    polls = Polls()
    runner = runner_for(["openai"], polls)
    async with running(runner, client):
        await polls.wait_for(1)
        runner.poll_now()
        await polls.wait_for(2, timeout=1)
        sim.faults.add(FaultRule("rate_limit", retry_after=30, provider="openai"))
        runner.poll_now()
        await polls.wait_for(3, timeout=1)
        assert polls.reports[-1].error is not None and "429" in polls.reports[-1].error.short
        assert polls.reports[-1].next_poll_at >= START + 30
        requests = sim.request_count
        runner.poll_now()
        await asyncio.sleep(0.3)
        assert len(polls.reports) == 3 and sim.request_count == requests


async def test_pause_starts_no_poll_and_resume_polls_at_once(sim: SimServer, client: BifrostClient) -> None:
    polls = Polls()
    runner = runner_for(["openai", "gemini"], polls, interval=0.05)
    async with running(runner, client):
        await polls.wait_for(2)
        runner.pause()
        assert runner.paused
        await asyncio.sleep(0.2)  # a poll in flight when paused still finishes
        paused_at = len(polls.reports)
        await asyncio.sleep(0.3)
        assert len(polls.reports) == paused_at
        runner.resume()
        assert not runner.paused
        await polls.wait_for(paused_at + 2, timeout=1)


async def test_stop_ends_the_run_even_with_a_poll_in_flight() -> None:
    class Hanging:
        async def list_batches(self, provider: str, **_: object) -> BatchListing:
            await asyncio.Event().wait()
            raise AssertionError("never answered")

    polls = Polls()
    runner = runner_for(["openai"], polls)
    task = asyncio.create_task(runner.run(Hanging()))  # type: ignore[arg-type]
    await until(lambda: runner.health["openai"].in_flight)
    runner.stop()
    await asyncio.wait_for(task, 1)
    assert polls.reports == []
    await runner.run(Hanging())  # type: ignore[arg-type]  # a stopped runner stays stopped


# -- failures ------------------------------------------------------------------------------


async def test_a_failed_poll_keeps_the_board_and_marks_the_provider_stale(
    sim: SimServer, client: BifrostClient
) -> None:
    polls = Polls()
    runner = runner_for(["openai"], polls)
    async with running(runner, client):
        await polls.wait_for(1)
        board = {t.key: t.batch for t in runner.board.tracked()}
        sim.go_down()
        runner.poll_now()
        await polls.wait_for(2)
        report = polls.reports[-1]
        assert not report.ok and report.error is not None and report.error.short == "cannot connect"
        assert report.unexpected is None and not report.change
        health = runner.health["openai"]
        assert health.state is ProviderState.STALE and health.failures == 1
        assert report.next_poll_at == health.next_poll_at > START
        assert {t.key: t.batch for t in runner.board.tracked()} == board
        sim.come_up()


async def test_a_surprise_in_the_gateways_data_is_a_failed_poll_not_the_end() -> None:
    """Not a GatewayError: the poll fails, it is named for the log, and polling goes on."""
    answers: list[BatchListing | Exception] = [
        ValueError("a field the client did not expect"),
        BatchListing(
            "openai",
            [
                Batch.from_wire(
                    {"id": "b1", "status": "in_progress", "request_counts": {"total": 2, "completed": 1}}, "openai"
                )
            ],
            pages=1,
        ),
    ]

    class Surprising:
        origin = ""

        async def list_batches(self, provider: str, **_: object) -> BatchListing:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    polls = Polls()
    runner = runner_for(["openai"], polls)
    async with running(runner, Surprising()):
        await polls.wait_for(1)
        first = polls.reports[0]
        assert first.unexpected == "ValueError"
        assert first.error is not None and first.error.short == "unexpected answer"
        assert runner.health["openai"].state is ProviderState.STALE
        runner.poll_now()
        await polls.wait_for(2)
        assert polls.reports[1].ok and ("openai", "b1") in runner.board
        assert runner.health["openai"].state is ProviderState.OK


async def test_a_vanished_batch_is_marked_gone_not_dropped(sim: SimServer, client: BifrostClient) -> None:
    # A batch created "now" vanishes from list and retrieve alike (404) when the simulator's
    # clock steps back past its creation.
    vanishing = sim.world.add_batch("openai", created_offset=0.0)
    key = ("openai", vanishing)
    polls = Polls()
    runner = runner_for(["openai"], polls)
    async with running(runner, client):
        await polls.wait_for(1)
        assert key in runner.board and not runner.board.get(key).gone
        sim.clock.advance(-1)
        runner.poll_now()
        await polls.wait_for(2)
        report = polls.reports[-1]
        assert report.ok and key in report.change.changed
        assert runner.board.get(key).gone
        sim.clock.advance(1)


# -- a poll costs what changed, not the size of the history --------------------------------


class History:
    """History pages reported by a runner (its on_history_page callback)."""

    def __init__(self) -> None:
        self.pages: list[PollReport] = []
        self.ends: list[PollReport] = []
        """The reports that a walk ended or stopped (``walk_ended``: no batches of their own)."""

    def __call__(self, report: PollReport) -> None:
        if report.walk_ended:
            assert not report.change
            self.ends.append(report)
        else:
            self.pages.append(report)


async def test_polls_list_page_one_and_the_history_is_walked_at_start_and_then_rarely() -> None:
    """At start: page one, then every page, each reported as it arrives; then each poll is one
    list request plus one retrieve per live batch beyond page one; the walk comes back after
    ``walk_every``. (The simulator's newest 8 per provider are live, the 40 older ones
    finished: tui/sim/world.py ``history``; pages of 2.)"""
    sim = SimServer(providers=["openai"], batches_per_provider=8, history=40, frozen=True, page_size=5).start()
    try:
        polls, history = Polls(), History()
        clock = FakeClock()
        runner = openai_runner(clock, polls, on_history_page=history, walk_every=600.0)
        async with BifrostClient(sim.base_url, timeout=2) as client:
            limited = _PagedClient(client, limit=2)
            async with running(runner, limited):
                await polls.wait_for(1)
                await until(lambda: runner.next_walk_at["openai"] > START)
                assert len(runner.board) == 48  # the whole history is on the board
                assert len(history.pages) == 24  # 48 batches in pages of 2, page one again included
                await until(lambda: len(history.ends) == 1)  # and then that the walk is over
                assert not runner.walking
                assert sum(len(p.change.added) for p in history.pages) == 48 - 2
                page_one = set(
                    (await client.list_page("openai", limit=2)).data
                    and [b.id for b in (await client.list_page("openai", limit=2)).data]
                )
                live_beyond_page_one = sum(
                    1 for t in runner.board.tracked() if not t.batch.finished and t.key[1] not in page_one
                )
                assert live_beyond_page_one >= 1  # the case this test is about

                await asyncio.sleep(0.05)
                before = sim.request_count
                clock.now += 1.0
                runner.poll_now()
                await polls.wait_for(2)
                # One list, one retrieve per live batch beyond page one (OpenAI's list carries
                # the counts of those on it: tui/api/providers.py list_has_counts).
                assert sim.request_count - before == 1 + live_beyond_page_one
                assert len(history.pages) == 24  # no walk until walk_every has passed

                clock.now += 600.0
                runner.poll_now()
                await until(lambda: len(history.pages) == 48)
                assert runner.next_walk_at["openai"] == clock.now + 600.0
    finally:
        sim.stop()


async def test_no_walk_when_page_one_is_the_whole_list() -> None:
    """A provider whose page one has no next page (the gateway omits ``has_more``: DESIGN.md,
    List response) has no history to walk: the start-up walk would list page one again.
    Issue 10 a: the first version asked for it twice at every start, and every five minutes."""
    sim = SimServer(providers=["openai"], batches_per_provider=8, history=40, frozen=True, page_size=100).start()
    try:
        polls, history = Polls(), History()
        clock = FakeClock()
        runner = openai_runner(clock, polls, on_history_page=history, walk_every=600.0)
        async with BifrostClient(sim.base_url, timeout=2) as client, running(runner, client):
            await polls.wait_for(1)
            await until(lambda: runner.next_walk_at["openai"] > START)
            assert polls.reports[0].whole_list
            assert len(runner.board) == 48
            assert history.pages == []  # no walk
            assert sim.request_count == 1  # page one; OpenAI's list carries the counts
            assert runner.next_walk_at["openai"] == START + 600.0  # looked again after walk_every
            # (Later pages one are cut short past the live batches, page_one_limit: then they
            # have a next page, and the walk every walk_every goes on as before.)
    finally:
        sim.stop()


def _listed(statuses: str) -> list[Batch]:
    """A page one, newest first: ``L`` a live batch, ``F`` a finished one."""
    status = {"L": "in_progress", "F": "completed"}
    return [Batch.from_wire({"id": f"b{i}", "status": status[c]}, "openai") for i, c in enumerate(statuses)]


@pytest.mark.parametrize(
    ("page", "limit"),
    [
        ("", 20),  # nothing listed: the smallest page
        ("F" * 100, 20),  # only history: the smallest page, for new arrivals
        ("L" * 8 + "F" * 92, 20),  # 8 live, then history: 8 + 10 is under the smallest
        ("L" * 30 + "F" * 70, 40),  # the oldest live one, plus room for 10 new arrivals
        ("F" * 49 + "L" + "F" * 50, 60),  # a live one among finished ones counts the same
        ("L" * 100, 100),  # every one live: the largest page (the rest are retrieved)
        ("L" * 40, 50),  # a page of 40 whose last is live: the next grows by 10
    ],
)
def test_page_one_reaches_just_past_the_oldest_live_batch(page: str, limit: int) -> None:
    from tui.monitor.poller import page_one_limit

    assert page_one_limit(_listed(page)) == limit


async def test_polls_after_the_first_list_only_as_far_as_the_live_batches_reach() -> None:
    """At idle, reading page one of 100 batches at every poll was most of a poll's CPU
    (py-spy, 1,000 batches: a third of the busy samples in json.loads). After the first poll
    page one stops 10 past the oldest live batch; the live ones are still all followed."""
    sim = SimServer(providers=["openai"], batches_per_provider=8, history=200, frozen=True).start()
    try:
        limits: list[int] = []

        class Recording(BifrostClient):
            async def list_page(self, provider: str, *, limit: int = 100, after: str | None = None):
                if after is None:
                    limits.append(limit)
                return await super().list_page(provider, limit=limit, after=after)

        clock = FakeClock()
        polls = Polls()
        runner = openai_runner(clock, polls)
        async with Recording(sim.base_url, timeout=2) as client, running(runner, client):
            await polls.wait_for(1)
            await until(lambda: runner.next_walk_at["openai"] > START)  # the walk (its page one included)
            for n in (2, 3):
                clock.now += 1.0
                runner.poll_now()
                await polls.wait_for(n)
        live_on_gateway = {b["id"] for b in sim.world.batches("openai") if b["status"] in ("in_progress", "validating")}
        live_on_board = {t.key[1] for t in runner.board.tracked() if not t.batch.finished}
    finally:
        sim.stop()
    assert limits[0] == 100  # the first poll knows nothing yet
    assert limits[-2:] == [20, 20]  # 8 live, newest first: 8 + 10 -> the smallest page
    assert live_on_board == live_on_gateway


async def test_a_quiet_gemini_batch_is_fetched_every_30_s_until_it_moves() -> None:
    """Gemini's list has no counts (core/providers/gemini/gemini.go BatchList), so each
    running batch cost a retrieve at every poll, moving or not. After QUIET_AFTER fetches
    that found the same counts it is fetched every QUIET_FETCH_EVERY seconds; once its
    counts move it is fetched at every poll again; its end is seen from the list at once."""
    from tui.monitor.poller import QUIET_AFTER, QUIET_FETCH_EVERY, poll_provider

    sim = SimServer(providers=["gemini"], batches_per_provider=6, history=0, frozen=True, seed=3).start()
    try:
        clock = FakeClock()
        board = Board(clock)
        async with BifrostClient(sim.base_url, timeout=2) as client:

            async def fetched_per_poll(polls: int, step: float = 2.0) -> list[int]:
                counts = []
                for _ in range(polls):
                    poll = await poll_provider(client, "gemini", board)
                    board.take(poll)
                    counts.append(poll.requests - 1)  # one list; the rest are retrieves
                    clock.now += step
                return counts

            live = sum(1 for b in sim.world.batches("gemini") if b["status"] not in ("completed", "failed", "expired"))
            assert live >= 2  # the case this test is about
            # The first fetch finds counts the list lacked; QUIET_AFTER more find them unchanged.
            quiet = await fetched_per_poll(1 + QUIET_AFTER + 5)
            assert quiet[0] >= live  # the first poll also fetches the finished ones, once
            assert quiet[1 : 1 + QUIET_AFTER] == [live] * QUIET_AFTER
            assert quiet[1 + QUIET_AFTER :] == [0] * 5  # quiet: not fetched within 30 s
            clock.now += QUIET_FETCH_EVERY
            assert await fetched_per_poll(2) == [live, 0]  # fetched again after 30 s, still quiet

            sim.clock.advance(600.0)  # the gateway moves on: counts change (or batches end)
            clock.now += QUIET_FETCH_EVERY
            moving = await fetched_per_poll(3)
            assert moving[0] >= 1
            on_gateway = {b["id"]: b for b in sim.world.batches("gemini")}
            for tracked in board.tracked("gemini"):
                wire = on_gateway[tracked.key[1]]
                assert tracked.batch.status == wire["status"]  # every end seen, from the list
                if not tracked.batch.finished:  # counts as a retrieve gives them (the list has none)
                    fetched = sim.world.batch("gemini", tracked.key[1])
                    assert tracked.batch.request_counts.completed == fetched["request_counts"]["completed"]  # type: ignore[index]
    finally:
        sim.stop()


async def test_a_walk_paused_part_way_goes_on_from_the_next_page_when_resumed() -> None:
    """A pause stops the walk after the page in hand; resumed, it asks for the next page. (The
    first version of the resumable walk asked for the page already taken again, read that
    as a gateway ignoring ``after``, and stopped with "only the newest batches listed".)"""
    sim = SimServer(providers=["openai"], batches_per_provider=4, history=16, frozen=True).start()
    try:
        clock = FakeClock()
        polls, pages = Polls(), History()

        def page_listed(report: PollReport) -> None:
            pages(report)
            if len(pages.pages) == 3:
                runner.pause()

        runner = openai_runner(clock, polls, on_history_page=page_listed)
        async with BifrostClient(sim.base_url, timeout=2) as client:
            async with running(runner, _PagedClient(client, limit=2)):
                await until(lambda: len(pages.pages) == 3 and runner.paused)
                await asyncio.sleep(0.05)
                assert len(runner.board) < 20  # stopped part-way
                runner.resume()
                await until(lambda: runner.next_walk_at["openai"] == clock.now + runner.walk_every)
        assert len(runner.board) == 20
        assert runner.health["openai"].note is None  # no "only the newest ... listed"
        assert len(pages.pages) == 10  # 20 batches in pages of 2, none asked for twice
    finally:
        sim.stop()


class _FailsOnePage(BifrostClient):
    """The real client, with pages of 2; the simulator answers 503 to the ``fail_at``-th
    list request that asks for a later page (a fault of one request, added just before it)."""

    def __init__(self, sim: SimServer, fail_at: int) -> None:
        super().__init__(sim.base_url, timeout=2)
        self.sim = sim
        self.fail_at = fail_at
        self.later_pages: list[str] = []  # the ``after`` of every later-page request, in order

    async def list_page(self, provider: str, *, limit: int = 100, after: str | None = None):
        if after:
            self.later_pages.append(after)
            if len(self.later_pages) == self.fail_at:
                self.sim.faults.add(FaultRule("status", status=503, times=1))
        return await super().list_page(provider, limit=2, after=after)


async def test_a_walk_stopped_by_a_failed_page_goes_on_from_that_page() -> None:
    """The soak (20 % of answers faulty) once ended with Bedrock's older batches missing: a
    walk that failed part-way started over from page one a minute later, and could fail
    again before reaching them. Now it resumes at the page that failed, HISTORY_WALK_RETRY
    seconds later, and the pages before it are not asked for again."""
    from tui.monitor.runner import HISTORY_WALK_RETRY

    sim = SimServer(providers=["openai"], batches_per_provider=4, history=16, frozen=True).start()
    try:
        clock = FakeClock()
        polls = Polls()
        runner = openai_runner(clock, polls)
        async with _FailsOnePage(sim, fail_at=4) as client, running(runner, client):
            await polls.wait_for(1)
            await until(lambda: runner.next_walk_at["openai"] > START)
            assert runner.next_walk_at["openai"] == START + HISTORY_WALK_RETRY  # stopped at the failed page
            assert len(runner.board) < 20
            failed_cursor = client.later_pages[3]
            asked_before = list(client.later_pages)

            clock.now += HISTORY_WALK_RETRY
            runner.poll_now()
            await until(lambda: len(runner.board) == 20)
            await until(lambda: runner.next_walk_at["openai"] == clock.now + runner.walk_every)
            resumed = client.later_pages[len(asked_before) :]
            assert resumed[0] == failed_cursor  # the failed page again, not page two
            assert not set(resumed) & set(asked_before[:3])  # pages already taken: not asked again
    finally:
        sim.stop()


class _PagedClient:
    """The real client with a small page, so that a short history spans several pages."""

    def __init__(self, client: BifrostClient, limit: int) -> None:
        self.origin = client.origin
        self._client = client
        self._limit = limit

    async def list_batches(self, provider: str, *, limit: int = 100, page_cap: int = 50) -> BatchListing:
        return await self._client.list_batches(provider, limit=min(limit, self._limit), page_cap=page_cap)

    def walk_pages(self, listing: BatchListing, *, page_cap: int = 50):
        return self._client.walk_pages(listing, limit=self._limit, page_cap=page_cap)

    async def retrieve(self, provider: str, batch_id: str) -> Batch:
        return await self._client.retrieve(provider, batch_id)


async def test_batches_without_counts_are_not_fetched_at_every_poll(sim: SimServer, client: BifrostClient) -> None:
    """Two retrieves that used to repeat at every poll, for ever:
    - a finished batch whose counts stay unknown once fetched (the simulator's Gemini and
      Bedrock validation failures, tui/sim/world.py: a job that never ran has no counts) is
      fetched once after it finished, and never again;
    - an OpenAI batch still validating reads total 0 in the list, and the list is where
      OpenAI's counts are (tui/api/providers.py ``list_has_counts``): nothing to fetch."""
    from tui.monitor.poller import poll_provider

    board = Board(FakeClock())
    for _ in range(2):  # the first polls fetch what is new
        for provider in ("openai", "gemini", "bedrock"):
            board.take(await poll_provider(client, provider, board))
    no_counts = [t for t in board.tracked() if not t.batch.request_counts.known]
    assert any(t.batch.finished and t.key[0] == "gemini" for t in no_counts)  # the case is there
    assert any(not t.batch.finished and t.key[0] == "openai" for t in no_counts)
    for provider in ("openai", "gemini", "bedrock"):
        poll = await poll_provider(client, provider, board)
        board.take(poll)
        fetched = poll.requests - 1  # one list
        live_gemini = sum(1 for t in board.tracked("gemini") if not t.batch.finished)
        expected = {"openai": 0, "gemini": live_gemini, "bedrock": 0}[provider]
        assert fetched == expected, provider


def test_a_quiet_batch_whose_listed_status_changed_is_fetched_at_once() -> None:
    """Quiet (its counts stood still at QUIET_AFTER fetches) and fetched a second ago: the
    list saying a new status is news, so it is fetched now, not QUIET_FETCH_EVERY later. (A
    Gemini job pending with no counts, then running, showed "—" for up to 30 s.)"""
    from tui.monitor.poller import QUIET_AFTER, _as_listed

    clock = FakeClock()
    board = Board(clock)
    pending = Batch.from_wire({"id": "batches/j1", "status": "validating"}, "gemini")
    board.apply([pending])
    tracked = board.get(pending.key)
    assert tracked is not None
    tracked.unchanged_fetches, tracked.retrieved_at = QUIET_AFTER, clock.now - 1.0
    assert _as_listed(pending, board)[1] is False  # same status: quiet, not fetched
    running = Batch.from_wire({"id": "batches/j1", "status": "in_progress"}, "gemini")
    assert _as_listed(running, board)[1] is True


async def test_live_batches_without_counts_in_the_list_are_not_rebuilt_at_every_poll(
    monkeypatch, sim: SimServer, client: BifrostClient
) -> None:
    """Gemini and Bedrock list items carry no counts (core/providers/gemini/batch.go and
    core/providers/bedrock/batch.go list conversions): each is laid over the batch the board
    holds (``Batch.over``, a parse). The same list item over the same batch gives the same
    batch again, so an idle poll rebuilds none of them (issue 10 b: it rebuilt every live one
    at every poll, a tenth of the app's idle CPU)."""
    from tui.monitor.poller import poll_provider

    board = Board(FakeClock())
    for _ in range(2):  # the first poll lists them, the second lays each list item over it
        for provider in ("gemini", "bedrock"):
            board.take(await poll_provider(client, provider, board, limit=20))
    live = [t for t in board.tracked() if not t.batch.finished and t.key[0] in ("gemini", "bedrock")]
    assert live  # the case this test is about
    held = {t.key: t.batch for t in live}

    rebuilt: list[str] = []
    original = Batch.over
    monkeypatch.setattr(Batch, "over", lambda self, earlier: rebuilt.append(self.id) or original(self, earlier))
    for provider in ("gemini", "bedrock"):
        board.take(await poll_provider(client, provider, board, limit=20))
    assert rebuilt == []
    assert all(board.get(key).batch is batch for key, batch in held.items())


def test_the_collector_is_off_while_any_walk_runs_and_back_after_the_last_or_a_long_one() -> None:
    """Issue 10 d: collections over the objects a walk of 10,000 batches makes were 0.25 s
    of a 4 s start. Off while walks run (several profiles walk at once), back after the last
    one, back after MAX_PAUSE whatever runs, and never switched on if it was off before."""
    import gc

    from tui.monitor.runner import CollectorPause

    now = [0.0]
    pause = CollectorPause(clock=lambda: now[0])
    assert gc.isenabled()
    try:
        with pause.held():
            assert not gc.isenabled()
            with pause.held():
                assert not gc.isenabled()
            assert not gc.isenabled()  # one walk still runs
        assert gc.isenabled()

        with pause.held():
            now[0] += pause.MAX_PAUSE / 2
            pause.check()
            assert not gc.isenabled()
            now[0] += pause.MAX_PAUSE
            pause.check()
            assert gc.isenabled()  # a walk on a slow gateway does not keep it off
            with pause.held():  # one that starts meanwhile leaves it on
                assert gc.isenabled()
        assert gc.isenabled()

        gc.disable()  # someone else's choice
        with pause.held():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_walk_runs_with_the_collector_off_and_ends_with_it_on() -> None:
    import gc

    sim = SimServer(providers=["openai"], batches_per_provider=4, history=16, frozen=True, page_size=5).start()
    try:
        polls, states = Polls(), []
        runner = openai_runner(FakeClock(), polls, on_history_page=lambda report: states.append(gc.isenabled()))
        async with BifrostClient(sim.base_url, timeout=2) as client:
            async with running(runner, _PagedClient(client, limit=5)):
                await until(lambda: runner.next_walk_at["openai"] > START)
                await until(lambda: bool(states) and states[-1])
        assert len(states) == 5
        assert states[:4] == [False] * 4  # each page taken with it off
        assert states[-1] is True  # the report that the walk ended
        assert gc.isenabled()
    finally:
        sim.stop()
