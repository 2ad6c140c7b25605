"""Several profiles on one board (issue 12, part 3): two simulators on loopback, one per
profile, each with its own key; the board shows both, and every cancel goes through the
profile its batch came from, with that profile's key, read-only and protection.

Both simulators run the same seed, so they hold the very same batch ids: two gateways
fronting one provider account look like that, and a cancel must still reach only the
gateway whose row was chosen.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apphelp import (
    START,
    FakeClock,
    WatchedApp,
    plain,
    session_for,
    table_of,
    table_text,
    text_of,
    wait_for_polls,
    wait_until,
)
from audithelp import audit_lines
from textual.widgets import Static

from tui.api import batch_key
from tui.cli import main
from tui.config import config_path
from tui.monitor import CancelState, ProviderState
from tui.sim import SimServer
from tui.ui.screens.confirm import ConfirmCancelScreen
from tui.ui.screens.typed_confirm import TypedConfirmScreen
from tui.ui.widgets.status import ProviderStatusLine

OPENAI = ("openai",)
KEY_A = "sk-bf-prod-key-1111"
KEY_B = "sk-bf-staging-key-2222"


@pytest.fixture
def two_sims() -> Iterator[tuple[SimServer, SimServer]]:
    # Each gateway takes only its own profile's key: a request sent with the other's fails.
    a = SimServer(seed=7, frozen=True, start_time=START, api_key=KEY_A).start()
    b = SimServer(seed=7, frozen=True, start_time=START, api_key=KEY_B).start()
    yield a, b
    a.stop()
    b.stop()


def board_of(a: SimServer, b: SimServer, *, a_options=None, b_options=None) -> WatchedApp:
    sessions = [
        session_for(a, providers=OPENAI, name="prod", **{"api_key": KEY_A, **(a_options or {})}),
        session_for(b, providers=OPENAI, name="staging", **{"api_key": KEY_B, **(b_options or {})}),
    ]
    return WatchedApp(sessions, clock=FakeClock())


def live_ids(sim: SimServer) -> list[str]:
    finished = {"completed", "failed", "expired", "cancelled", "ended"}
    return [str(x["id"]) for x in sim.world.batches("openai") if str(x["status"]) not in finished]


def cancels_at(sim: SimServer) -> int:
    return sum(sim.world.cancel_count("openai", str(x["id"])) for x in sim.world.batches("openai"))


async def started(pilot, app: WatchedApp) -> None:
    await wait_for_polls(pilot, app, len(app.health()))


async def test_both_profiles_are_on_the_board_and_the_same_id_is_two_rows(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        same = live_ids(a)[0]
        assert same in live_ids(b)  # the same seed: the same ids at both gateways
        mine, theirs = batch_key("openai", same, "prod"), batch_key("openai", same, "staging")
        assert app.board.get(mine) is not None and app.board.get(theirs) is not None
        assert len(app.board) == len(a.world.batches("openai")) + len(b.world.batches("openai"))
        table = table_of(app)
        assert table.select(theirs)
        await pilot.pause()
        assert table.selected_key == theirs
        assert "PROFILE" in table_text(app)
        header = text_of(app, "#header")
        assert "prod (P) + staging (S)" in header
        status = text_of(app, "#providers")
        assert "prod:" in status and "staging:" in status


async def test_at_80_columns_the_profile_is_a_one_letter_tag_the_header_explains(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        plan = table_of(app)._plan
        assert plan is not None and plan.widths["origin"] == 1
        assert plan.total <= 80
        assert plan.widths["id"] >= 14  # the id keeps room to be told apart
        rows = table_text(app)
        assert " P " in rows and " S " in rows
        assert "PROFILE" not in rows
        assert "prod (P) + staging (S)" in text_of(app, "#header")


async def test_a_cancel_goes_through_its_own_profile_only(two_sims) -> None:
    """Same id at both gateways: cancelling the staging row reaches staging's gateway, with
    staging's key, and the audit line names staging; prod's gateway sees no cancel."""
    a, b = two_sims
    app = board_of(a, b)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        same = live_ids(a)[0]
        key = batch_key("openai", same, "staging")
        assert table_of(app).select(key)
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmCancelScreen)
        assert "staging" in text_of(app, "#dialog-facts")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.board.get(key).cancel_state is CancelState.ACCEPTED)
        assert b.world.cancel_count("openai", same) == 1
        assert cancels_at(a) == 0
        assert app.board.get(batch_key("openai", same, "prod")).cancel_state is None
        [line] = audit_lines()
        assert line["profile"] == "staging" and line["gateway"] == "gateway.test" and line["batch_id"] == same
        assert KEY_A not in str(line) and KEY_B not in str(line)


async def test_each_profile_polls_with_its_own_key_and_a_wrong_one_is_its_alone(two_sims) -> None:
    """The simulators take only their own profile's key; staging's key is wrong here: its
    provider says so, prod's goes on, and no key is on screen."""
    a, b = two_sims
    app = board_of(a, b, b_options={"api_key": "sk-bf-wrong-key-3333"})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot, lambda: [h.state for _, h in app.health()] == [ProviderState.OK, ProviderState.STALE], 10
        )
        await pilot.pause()
        status = str(app.screen.query_one(ProviderStatusLine).render())
        assert status.startswith("prod: ✓ openai")
        assert "staging: ! openai" in status and "key rejected" in status
        assert {key[2] for key in app.board._batches} == {"prod"}
        screen = text_of(app, "#header") + table_text(app) + status
        assert "sk-bf-" not in screen


async def test_a_bulk_cancel_names_the_profiles_and_leaves_out_a_read_only_ones(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b, b_options={"read_only": True})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        await pilot.press("a")  # mark every batch shown: both profiles'
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, TypedConfirmScreen)
        live_a, live_b = live_ids(a), live_ids(b)
        assert app.screen.expected == str(len(live_a))  # staging's are not counted
        facts = text_of(app, "#dialog-facts")
        assert f"prod ({len(live_a)})" in facts
        assert f"{len(live_b)} marked batch(es) of read-only staging" in facts
        await pilot.press(*str(len(live_a)), "enter")
        await wait_until(pilot, lambda: cancels_at(a) == len(live_a), 10)
        await pilot.pause(0.2)
        assert cancels_at(b) == 0
        assert {line["profile"] for line in audit_lines()} == {"prod"}


async def test_c_on_a_read_only_profiles_row_says_why(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b, b_options={"read_only": True})
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        key = batch_key("openai", live_ids(b)[0], "staging")
        assert table_of(app).select(key)
        await pilot.pause()
        assert not app.cancels.can_cancel(key)
        assert app.cancels.can_cancel(batch_key("openai", live_ids(a)[0], "prod"))
        await pilot.press("c")
        await pilot.pause()
        assert app.messages.said("Read-only profile staging")
        assert "READ-ONLY: staging" in text_of(app, "#header")
        assert cancels_at(b) == 0


async def test_a_protected_profile_asks_for_the_id_end_the_other_for_y(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b, a_options={"protected": True})
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        same = live_ids(a)[0]
        assert table_of(app).select(batch_key("openai", same, "prod"))
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, TypedConfirmScreen) and app.screen.expected == same[-4:]
        await pilot.press("escape")
        await pilot.pause()
        assert table_of(app).select(batch_key("openai", same, "staging"))
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmCancelScreen)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert cancels_at(a) == cancels_at(b) == 0


async def test_the_status_line_shows_each_profiles_health(two_sims) -> None:
    a, b = two_sims
    b.stop()  # staging's gateway is down from the start
    app = board_of(a, b, b_options={"interval": 3600.0})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot, lambda: [h.state for _, h in app.health()] == [ProviderState.OK, ProviderState.STALE], 10
        )
        await pilot.pause()
        line = app.screen.query_one(ProviderStatusLine)
        text = str(line.render())
        assert text.startswith("prod: ✓ openai")
        assert "staging: ! openai" in text and "cannot connect" in text
        assert len(app.board) == len(a.world.batches("openai"))  # prod's board goes on


# -- the command line and the config --------------------------------------------------------


def write_config(text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


CONFIG = """
[profiles.prod]
base_url = "http://127.0.0.1:9"
providers = ["openai"]

[profiles.staging]
base_url = "http://127.0.0.1:9"
providers = ["openai"]

[views.incident]
profiles = ["prod", "staging"]
"""


def test_a_view_opens_its_profiles_in_order() -> None:
    from tui.session import SessionRequest, open_sessions

    write_config(CONFIG)
    sessions = open_sessions(SessionRequest(view="incident"))
    assert [s.profile_name for s in sessions] == ["prod", "staging"]
    sessions = open_sessions(SessionRequest(profile="staging", more_profiles=("prod",), interval=5.0))
    assert [(s.profile_name, s.profile.interval) for s in sessions] == [("staging", 5.0), ("prod", 5.0)]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--view", "incdent"], "no view 'incdent'"),
        (["--view", "incdent"], "did you mean 'incident'?"),
        (["--profile", "prod", "--profile", "staging", "--base-url", "http://x"], "--base-url describes one gateway"),
        (["--profile", "prod", "--profile", "staging", "--provider", "x"], "--provider describes one gateway"),
        (["--view", "incident", "--profile", "prod"], "either --view or --profile"),
        (["--view", "incident", "--demo"], "--demo watches the built-in simulator alone"),
        (["--profile", "prod", "--profile", "staging", "list"], "only in the TUI"),
        (["--profile", "prod", "--profile", "nope"], "no profile 'nope'"),
    ],
)
def test_bad_requests_for_several_profiles_are_exit_2_with_one_line(argv, words, capsys) -> None:
    write_config(CONFIG)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("view", "line", "words"),
    [
        ('profiles = ["prod", "nope"]', 11, "'nope' names no profile in this file"),
        ('profiles = ["prod", "prod"]', 11, "profile 'prod' is named twice"),
        ("profiles = []", 11, "must be a list of profile names"),
        ('profiles = "prod"', 11, "must be a list of profile names"),
        ('profile = ["prod"]', 11, "unknown field 'profile' (did you mean 'profiles'?)"),
    ],
)
def test_a_broken_view_names_the_file_the_line_and_the_view(view, line, words, capsys) -> None:
    text = CONFIG.replace('profiles = ["prod", "staging"]', view)
    write_config(text)
    assert main(["--view", "incident"]) == 2
    err = capsys.readouterr().err
    assert f"{config_path()} line {line}, view 'incident'" in err
    assert words in err


async def test_the_audit_screen_names_each_attempts_profile(two_sims) -> None:
    a, b = two_sims
    app = board_of(a, b)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        same = live_ids(a)[0]
        for origin in ("prod", "staging"):
            key = batch_key("openai", same, origin)
            assert table_of(app).select(key)
            await pilot.pause()
            await pilot.press("c", "y")
            await wait_until(pilot, lambda key=key: app.board.get(key).cancel_state is CancelState.ACCEPTED)
        assert a.world.cancel_count("openai", same) == b.world.cancel_count("openai", same) == 1
        await pilot.press("L")
        await pilot.pause()
        shown = " ".join(" ".join(plain(static.content).split()) for static in app.screen.query(Static))
        assert f"prod/openai {same}" in shown and f"staging/openai {same}" in shown


def test_profiles_list_shows_the_views_too(capsys) -> None:
    write_config(CONFIG)
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert "VIEW" in out and "incident  prod, staging" in " ".join(out.split("\n"))
