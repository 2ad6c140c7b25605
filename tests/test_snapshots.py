"""Snapshots of the live board: fixed simulator seed, frozen clocks, fixed sizes, no blink.

They are stored in the top-level snapshots/ folder (see conftest.py). Update them with
``pytest tests/test_snapshots.py --snapshot-update`` and look at every SVG you commit.

snap_compare runs the app itself (``App.run``), without run_test's message hook: so these
tests wait on the providers' health, which says when each one's poll has ended.
"""

from __future__ import annotations

from collections.abc import Callable

from apphelp import START, FakeClock, WatchedApp, idle, make_app, session_for, wait_until

from tui.monitor import ProviderHealth, ProviderState, SortOrder
from tui.sim import SimServer

APP_NOW = START + 90  # the app looks at the board a minute and a half after the simulator began


def board_app(sim: SimServer, **options):
    return make_app(sim, FakeClock(APP_NOW), **options)


async def _every_provider(pilot, polled: Callable[[tuple[str, str], ProviderHealth], bool]) -> None:
    """Wait until each provider's health is as ``polled`` wants it, with no poll in flight."""
    app = pilot.app
    await wait_until(pilot, lambda: idle(app) and all(polled((o, h.provider), h) for o, h in app.health()))
    # Batch events pop up as toasts that would cover the table here; they have a snapshot of their own.
    app.clear_notifications()
    await pilot.pause()


async def _loaded(pilot) -> None:
    """Every provider has answered once, or failed."""
    await _every_provider(pilot, lambda _, health: health.state is not ProviderState.CONNECTING)


async def _refresh(pilot) -> None:
    """Press r and wait until every provider has finished a poll since: it succeeded at the
    app's time (moved on before each refresh here) or failed once more."""
    before = {(o, h.provider): (h.last_ok_at, h.failures) for o, h in pilot.app.health()}
    await pilot.press("r")
    await _every_provider(pilot, lambda p, health: (health.last_ok_at, health.failures) != before[p])


def with_rates(*sims: SimServer):
    """Two polls five minutes apart, so that changes, rates and ETAs show."""

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        pilot.app.clock.advance(300)
        for sim in sims:
            sim.clock.advance(300)
        await _refresh(pilot)

    return run_before


def test_board_80x24(snap_compare, sim: SimServer) -> None:
    assert snap_compare(board_app(sim), terminal_size=(80, 24), run_before=with_rates(sim))


def test_board_160x48(snap_compare, sim: SimServer) -> None:
    assert snap_compare(board_app(sim), terminal_size=(160, 48), run_before=with_rates(sim))


def test_detail(snap_compare, sim: SimServer) -> None:
    app = board_app(sim)

    async def run_before(pilot) -> None:
        await with_rates(sim)(pilot)
        await pilot.press("down", "down", "enter")

    assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)


def test_confirm_dialog(snap_compare, sim: SimServer) -> None:
    app = board_app(sim)

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("down", "down", "c")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_stale(snap_compare, sim: SimServer) -> None:
    app = board_app(sim)

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        sim.go_down()
        await _refresh(pilot)
        await _every_provider(pilot, lambda _, health: health.state is ProviderState.STALE)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_empty(snap_compare) -> None:
    with SimServer(seed=7, frozen=True, start_time=START, batches_per_provider=0) as empty:
        app = board_app(empty)
        assert snap_compare(app, terminal_size=(80, 24), run_before=_loaded)


def test_gateway_down_at_start(snap_compare, sim: SimServer) -> None:
    sim.stop()
    app = board_app(sim)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_loaded)


def test_read_only(snap_compare, sim: SimServer) -> None:
    app = board_app(sim, read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_loaded)


def test_help(snap_compare, sim: SimServer) -> None:
    app = board_app(sim)

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_marked_rows(snap_compare, sim: SimServer) -> None:
    app = board_app(sim)

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("space", "space", "down", "space")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def _mark_three_live_and_one_finished():
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        app = pilot.app
        # In the board's sorted order, not dict order: which provider answered first varies.
        keys = app.board.sorted_keys(SortOrder.NEWEST)
        live = [k for k in keys if app.board.get(k).batch.status == "in_progress"][:3]
        done = next(k for k in keys if app.board.get(k).batch.finished)
        app.mark_all([*live, done])
        await pilot.pause()
        await pilot.press("c")

    return run_before


def test_bulk_dialog(snap_compare, sim: SimServer) -> None:
    assert snap_compare(board_app(sim), terminal_size=(80, 24), run_before=_mark_three_live_and_one_finished())


def test_bulk_summary(snap_compare, sim: SimServer) -> None:
    from urllib.parse import quote

    from tui.sim import FaultRule

    app = board_app(sim)

    async def run_before(pilot) -> None:
        await _mark_three_live_and_one_finished()(pilot)
        marked = sorted(k for k in pilot.app.view.marks if not pilot.app.board.get(k).batch.finished)
        provider, batch_id = marked[0]
        sim.faults.add(
            FaultRule("status", status=503, method="POST", path=f"/v1/batches/{quote(batch_id, safe='')}/cancel")
        )
        await pilot.press("3", "enter")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "report", None) is not None)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def _every_shape_sim() -> SimServer:
    """Every batch family Bifrost has, one provider it cannot list (mistral) and one it does
    not know (siliconflow), plus states passed through unmapped."""
    sim = SimServer(
        seed=7,
        frozen=True,
        start_time=START,
        batches_per_provider=5,
        providers=("openai", "anthropic", "bedrock", "gemini", "vertex", "siliconflow"),
    )
    sim.world.add_batch(
        "vertex",
        created_offset=-3600,
        total=2000,
        rate=0.5,
        start_delay=60,
        raw_status="JOB_STATE_PAUSED",
        metadata={"job": "paused-eval"},
    )
    sim.world.add_batch(
        "gemini", created_offset=-1800, total=5000, rate=0.5, start_delay=30, raw_status="BATCH_STATE_UNSPECIFIED"
    )
    return sim


def test_every_provider_shape_160x48(snap_compare) -> None:
    """Issue 8: Anthropic and Bedrock running batches read "at end" with their time left,
    never 0 %; Gemini's percentages count failures once; unmapped states keep their case in a
    wider status column; mistral is unavailable; siliconflow is read OpenAI-shaped."""
    with _every_shape_sim() as sim:
        app = make_app(
            sim,
            FakeClock(APP_NOW),
            providers=("openai", "anthropic", "bedrock", "gemini", "vertex", "mistral", "siliconflow"),
        )
        assert snap_compare(app, terminal_size=(160, 48), run_before=with_rates(sim))


def test_every_provider_shape_80x24(snap_compare) -> None:
    with _every_shape_sim() as sim:
        app = make_app(
            sim,
            FakeClock(APP_NOW),
            providers=("openai", "anthropic", "bedrock", "gemini", "vertex", "mistral", "siliconflow"),
        )

        async def run_before(pilot) -> None:
            await with_rates(sim)(pilot)
            await pilot.press("s", "s", "s", "s")  # sort by status: live ones first

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_attention_view(snap_compare) -> None:
    """The showcase batches (one per signal: tui/sim/world.py) under ``!``, with the header's
    count."""
    server = SimServer(seed=7, frozen=True, start_time=START, providers=("openai",), showcase=True).start()
    try:

        async def run_before(pilot) -> None:
            app = pilot.app
            await _loaded(pilot)
            for _ in range(3):  # a stall needs three polls to be judged
                app.clock.advance(60)
                server.clock.advance(60)
                await _refresh(pilot)
            await pilot.press("exclamation_mark")
            await pilot.pause()

        assert snap_compare(board_app(server, providers=("openai",)), terminal_size=(80, 24), run_before=run_before)
    finally:
        server.stop()


# -- several profiles on one board (issue 12) ------------------------------------------------


def two_profiles_app(prod: SimServer, staging: SimServer) -> WatchedApp:
    """prod and a read-only staging, each on a simulator of its own (seeds 7 and 8)."""
    sessions = [
        session_for(prod, providers=("openai", "anthropic"), name="prod"),
        session_for(staging, providers=("openai", "gemini"), name="staging", read_only=True),
    ]
    return WatchedApp(sessions, clock=FakeClock(APP_NOW))


def test_two_profiles_80x24(snap_compare, sim: SimServer) -> None:
    staging = SimServer(seed=8, frozen=True, start_time=START).start()
    try:
        assert snap_compare(two_profiles_app(sim, staging), terminal_size=(80, 24), run_before=with_rates(sim, staging))
    finally:
        staging.stop()


def test_two_profiles_160x48(snap_compare, sim: SimServer) -> None:
    staging = SimServer(seed=8, frozen=True, start_time=START).start()
    try:
        assert snap_compare(two_profiles_app(sim, staging), terminal_size=(160, 48), run_before=_loaded)
    finally:
        staging.stop()


def test_two_profiles_bulk_dialog(snap_compare, sim: SimServer) -> None:
    """Marks on both profiles: the dialog names them and leaves out read-only staging's."""
    staging = SimServer(seed=8, frozen=True, start_time=START).start()

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        app = pilot.app
        keys = app.board.sorted_keys(SortOrder.NEWEST)
        live = [k for k in keys if app.board.get(k).batch.status == "in_progress"]
        chosen = [k for k in live if k[2] == "prod"][:3] + [k for k in live if k[2] == "staging"][:2]
        app.mark_all(chosen)
        await pilot.pause()
        await pilot.press("c")

    try:
        assert snap_compare(two_profiles_app(sim, staging), terminal_size=(100, 30), run_before=run_before)
    finally:
        staging.stop()
