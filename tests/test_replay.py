"""Record and replay (issue 13 parts 1 and 2): a live board recorded against the simulator,
then replayed; the replayed board must be the live one at each poll, whatever the way
there (playing, stepping, seeking back and forth), and a replay never talks to anyone.
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest
from apphelp import START, FakeClock, WatchedApp, refresh, session_for, table_of, wait_for_polls, wait_until

from tui.cli import main
from tui.monitor import Board, ProviderState
from tui.monitor.replay import Recording, ReplayPlayer, Tail
from tui.record import Recorder, read_recording
from tui.sim import SimServer
from tui.ui.replay_app import ReplayApp, parse_time

KEY = "sk-bf-record-secret-7777"
POLLS = 4
STEP = 120.0
"""Simulated seconds between two polls of the live board."""


class RealClock:
    """A fake monotonic clock for the player: time moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def board_state(board: Board) -> dict:
    """What the screen shows of each batch, and what it keeps (gone, fetched, samples)."""
    return {
        t.key: (
            t.batch.status,
            t.batch.request_counts.model_dump(),
            t.gone,
            t.fetched_finished,
            tuple((sample.at, sample.counts, sample.known) for sample in t.history._samples),
            t.rate_per_minute(),
            t.eta_seconds(),
        )
        for t in board.tracked()
    }


async def record_live(sim: SimServer, path: Path, *, providers=("openai", "anthropic", "bedrock", "gemini")):
    """Run the live board with a recorder for POLLS polls, STEP simulated seconds apart;
    the board's state after each, with the time it was taken."""
    clock = FakeClock(START)
    sessions = [session_for(sim, providers=providers, name="prod", api_key=KEY)]
    app = WatchedApp(sessions, clock=clock, recorder=Recorder(path, secrets=[KEY]))
    states = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_polls(pilot, app, len(app.health()))
        states.append((clock(), board_state(app.board)))
        for _ in range(POLLS - 1):
            clock.advance(STEP)
            sim.clock.advance(STEP)
            await refresh(pilot, app)
            states.append((clock(), board_state(app.board)))
        health = {(o, h.provider): h.state for o, h in app.health()}
    return states, health


@pytest.fixture
def recorded(sim: SimServer, tmp_path: Path):
    import asyncio

    path = tmp_path / "session.ndjson.gz"
    states, health = asyncio.run(record_live(sim, path))
    return path, states, health


def test_the_replayed_board_is_the_live_board_at_each_poll(recorded) -> None:
    path, states, _ = recorded
    recording = Recording.load(path)
    assert recording.profile_names == ["prod"]
    real = RealClock()
    player = ReplayPlayer(recording, clock=real)
    player.pause()
    for at, live in states:  # forwards
        player.seek(at)
        assert board_state(player.board) == live
    for at, live in reversed(states):  # and back: built again from the start
        player.seek(at)
        assert board_state(player.board) == live


def test_stepping_goes_poll_by_poll_and_back(recorded) -> None:
    path, states, _ = recorded
    player = ReplayPlayer(Recording.load(path), clock=RealClock())
    player.pause()
    player.seek(states[1][0])
    assert board_state(player.board) == states[1][1]
    events_at = sorted({e.at for e in player.recording.events})
    player.step(1)
    assert player.now() == min(t for t in events_at if t > states[1][0])
    player.step(-1)
    player.step(-1)
    assert player.now() < states[1][0]


def test_speed_moves_the_recorded_clock_that_much_faster(recorded) -> None:
    path, states, _ = recorded
    real = RealClock()
    player = ReplayPlayer(Recording.load(path), clock=real)
    start = player.now()
    real.now += 1
    assert player.now() == pytest.approx(start + 1)
    assert player.next_speed() == 10
    real.now += 1
    assert player.now() == pytest.approx(start + 11)
    assert player.next_speed() == 60
    real.now += 1
    assert player.now() == pytest.approx(start + 71)
    player.advance()
    assert player.position > 0
    # At ×60 the whole recording (POLLS polls STEP seconds apart) plays in a few real seconds.
    real.now += (states[-1][0] - player.now()) / 60 + 0.01
    player.advance()
    assert player.at_end and board_state(player.board) == states[-1][1]
    real.now += 100
    assert player.now() == player.recording.end  # it stops at the end


def test_the_key_is_never_in_the_recording_and_the_file_is_private(recorded) -> None:
    path, _, _ = recorded
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KEY.encode() not in gzip.decompress(path.read_bytes())


def test_failed_polls_are_recorded_and_replayed_as_stale(sim: SimServer, tmp_path: Path) -> None:
    import asyncio

    from tui.sim import FaultRule

    path = tmp_path / "failing.ndjson.gz"

    async def run() -> None:
        clock = FakeClock(START)
        app = WatchedApp([session_for(sim, providers=("openai",), name="prod")], clock=clock, recorder=Recorder(path))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_polls(pilot, app, 1)
            sim.faults.add(FaultRule("status", status=503))
            clock.advance(STEP)
            await refresh(pilot, app)
            assert app.runner.health["openai"].state is ProviderState.STALE

    asyncio.run(run())
    player = ReplayPlayer(Recording.load(path), clock=RealClock())
    player.pause()
    player.seek(player.recording.end)
    health = player.health[""]["openai"]
    assert health.state is ProviderState.STALE and "503" in health.describe(player.now())
    assert len(player.board) == len(sim.world.batches("openai"))  # the last good answer is kept


async def test_the_replay_app_is_read_only_says_replay_and_moves_with_keys(recorded) -> None:
    path, states, _ = recorded
    player = ReplayPlayer(Recording.load(path))
    player.pause()
    app = ReplayApp(player)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = str(app.board_screen.query_one("#header").render())
        assert "REPLAY" in header and "paused" in header
        assert app.board is player.board
        assert all(o.client is None for o in app.origins.values())  # no client: nothing is asked
        await pilot.press("right_curly_bracket")  # +10 min: past the last poll
        await pilot.pause()
        assert board_state(app.board) == states[-1][1]
        keys = list(app.board_screen.shown_keys())
        assert keys and not any(app.cancels.can_cancel(k) for k in keys)
        table_of(app).select(keys[0])
        await pilot.press("c")
        await pilot.pause()
        assert any("read-only" in n.message.lower() for n in app._notifications)
        await pilot.press("left_curly_bracket", "left_curly_bracket")  # back to the start
        await pilot.pause()
        assert board_state(app.board) == states[0][1]
        await pilot.press("x")
        assert player.speed == 10


def test_parse_time_reads_clock_times_and_minutes_from_the_start() -> None:
    from datetime import datetime

    start = datetime(2026, 12, 3, 3, 0, 0).timestamp()
    assert parse_time("03:12", start) == start + 12 * 60
    assert parse_time("03:12:30", start) == start + 12 * 60 + 30
    assert parse_time("+5", start) == start + 300
    assert parse_time("+2.5m", start) == start + 150
    assert parse_time("02:59", start) == start + 86400 - 60  # before the start: the next day
    for bad in ("", "25:00", "3", "soon", "03:61"):
        assert parse_time(bad, start) is None


def test_a_tail_follows_a_recording_being_written(tmp_path: Path) -> None:
    path = tmp_path / "live.ndjson.gz"
    recorder = Recorder(path)
    recorder.header(profiles=[{"name": "prod", "providers": ["openai"]}], started_at=START, app_version="t")
    tail = Tail(path, every=0.02)
    try:
        recording = Recording(path)
        wait = 0
        while recording.header is None and wait < 200:
            recording.extend(tail.take())
            wait += 1
            import time

            time.sleep(0.01)
        assert recording.header is not None
        recorder.poll(
            at=START + 1,
            profile="prod",
            provider="openai",
            batches=[{"id": "b1", "status": "in_progress"}],
            kind="page_one",
        )
        for _ in range(200):
            if recording.extend(tail.take()):
                break
            time.sleep(0.01)
        assert [e.at for e in recording.events] == [START + 1]
    finally:
        tail.close()
        recorder.close()


def test_replay_of_a_missing_or_foreign_file_is_exit_2_one_line(tmp_path: Path, capsys) -> None:
    assert main(["replay", str(tmp_path / "nope.ndjson.gz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchtop: ") and err.count("\n") == 1
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    assert main(["replay", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and err.count("\n") == 1


def test_record_to_a_place_that_cannot_be_written_is_exit_2(tmp_path: Path, capsys) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert main(["--demo", "--record", str(blocked / "sub" / "rec.ndjson.gz")]) == 2
    err = capsys.readouterr().err
    assert "cannot record" in err and err.count("\n") == 1


def test_the_recording_reads_back_with_what_the_board_took(recorded) -> None:
    path, _, _ = recorded
    records = list(read_recording(path))
    kinds = {type(r).__name__ for r in records}
    assert {"Header", "Poll"} <= kinds
    header = records[0]
    assert header.profiles[0]["name"] == "prod" and "api_key" not in str(header.profiles)
    # Bedrock: counts only from retrieves, merged into page one: the record holds them.
    bedrock = [r for r in records if type(r).__name__ == "Poll" and r.provider == "bedrock" and r.kind == "page_one"]
    assert bedrock and any(b.get("request_counts", {}).get("total") for b in bedrock[-1].batches)
    assert wait_until  # (imported for symmetry with the app tests)


# -- sim --replay: a recording served as a gateway --------------------------------------------

FIXTURE = Path(__file__).parent / "recordings" / "field-503.ndjson.gz"
"""The live board against the simulator (seed 7), 3 polls 120 s apart, gemini answering
503 at the second (made as tests/recordings/README.md says)."""


def test_a_recording_served_as_a_gateway_answers_as_it_did(capsys) -> None:
    from tui.cli.simulator import recorded_answers
    from tui.sim.recorded import RecordedGateway

    name, answers = recorded_answers(str(FIXTURE))
    assert name == "field" and {a.provider for a in answers} == {"openai", "gemini"}
    failed = next(a for a in answers if a.error is not None)
    gateway = RecordedGateway(answers, frozen=True).start()
    try:
        url = gateway.base_url
        assert main(["list", "--base-url", url, "--provider", "openai", "--provider", "gemini"]) == 0
        listed = capsys.readouterr().out.strip().splitlines()
        first = [a for a in answers if a.at == answers[0].at or a.at <= answers[0].at + 1]
        assert len(listed) - 1 == len({b["id"] for a in first if a.error is None for b in a.batches})
        gateway.clock.advance(failed.at - gateway.clock.now())  # to the failed poll
        assert main(["list", "--base-url", url, "--provider", "gemini"]) == 1
        err = capsys.readouterr().err
        assert "503" in err and err.count("\n") == 1
        latest = [a for a in answers if a.provider == "openai" and a.at <= gateway.clock.now()][-1]
        live = next(b["id"] for b in latest.batches if b.get("status") == "in_progress")
        assert main(["cancel", live, "--base-url", url, "--provider", "openai", "--yes"]) == 1
        assert "nothing can be cancelled" in capsys.readouterr().err
    finally:
        gateway.stop()


def test_sim_replay_of_a_foreign_file_is_exit_2(tmp_path: Path, capsys) -> None:
    foreign = tmp_path / "x.gz"
    foreign.write_bytes(b"not gzip")
    assert main(["sim", "--replay", str(foreign)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_demo_recording_plays_at_the_pace_it_was_watched(tmp_path: Path) -> None:
    """The demo's board clock is the simulator's, 20x the wall: its recording says so, and a
    replay (or a share's follower) at x1 moves 20 recorded seconds per real second. Before,
    a follower of a demo share fell behind its feed by 19 seconds every second."""
    from tui.session import SessionRequest, recorded_profiles, start_demo_session

    demo = start_demo_session(SessionRequest(demo=True))
    try:
        profiles = recorded_profiles([demo])
    finally:
        demo.close()
    assert profiles[0]["clock_rate"] == 20.0
    path = tmp_path / "demo.ndjson.gz"
    recorder = Recorder(path)
    recorder.header(profiles=profiles, started_at=START, app_version="test")
    for n in range(3):
        recorder.poll(at=START + 60 * n, profile="demo", provider="openai", batches=[], kind="page_one")
    recorder.close()
    real = RealClock()
    player = ReplayPlayer(Recording.load(path), clock=real)
    assert player.recording.clock_rate == 20.0
    start = player.now()
    real.now += 2
    assert player.now() == pytest.approx(start + 40)
    player.advance()
    assert player.real_wait() == pytest.approx(1.0)  # the poll at +60 s is 20 recorded seconds on
    # A live board's recording (no clock_rate) keeps 1 recorded second per real second.
    assert Recording.load(path).clock_rate == 20.0
    plain = [dict(p) for p in profiles]
    del plain[0]["clock_rate"]
    other = tmp_path / "live.ndjson.gz"
    recorder = Recorder(other)
    recorder.header(profiles=plain, started_at=START, app_version="test")
    recorder.close()
    assert Recording.load(other).clock_rate == 1.0


def test_a_follower_at_the_live_end_keeps_up_with_the_writer(tmp_path: Path) -> None:
    """A poll the writer recorded at a time a little past the follower's own clock is shown
    at once (before, the follower waited for its clock and its badge said ×1, not live)."""
    path = tmp_path / "feed.ndjson.gz"
    recorder = Recorder(path)
    recorder.header(profiles=[{"name": "prod", "providers": ["openai"]}], started_at=START, app_version="t")
    for n in range(3):
        batch = {"id": "b1", "status": "in_progress", "request_counts": {"total": 10, "completed": n, "failed": 0}}
        recorder.poll(at=START + 2 * n, profile="prod", provider="openai", batches=[batch], kind="page_one")
    recorder.close()
    records = list(read_recording(path))
    recording = Recording(path)
    recording.extend(records[:-1])
    real = RealClock()
    player = ReplayPlayer(recording, clock=real)
    player.following = True
    player.seek(recording.end)
    assert player.at_end
    real.now += 0.5  # the follower's clock: START + 2.5; the writer's next poll: START + 4
    player.take_more(records[-1:])
    player.advance()
    assert player.at_end and player.now() == pytest.approx(START + 4)
    assert player.board.get(("openai", "b1")).batch.request_counts.completed == 2
    # Paused, or behind the end on purpose (a seek back), it stays where it was put.
    player.pause()
    at = player.now()
    player.take_more([])
    assert player.now() == at
