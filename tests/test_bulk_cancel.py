"""Bulk cancel from the live board: marks, the typed confirmation, the progress summary,
retry, the audit log, read-only, the detail timeline and following a batch off the list.

Pilot at 80x24 against the simulator over real loopback HTTP (frozen clock, seed 7).
Most tests watch openai only: it has four live batches (validating, a fast one, a stalled
one, a slow one) and four finished ones, which is all a bulk cancel needs, and one
provider keeps each test fast.
"""

from __future__ import annotations

import asyncio
import urllib.parse

from apphelp import (
    START,
    FakeClock,
    WatchedApp,
    cell,
    make_app,
    refresh,
    table_of,
    text_of,
    wait_for_polls,
    wait_until,
)
from audithelp import audit_lines

from tui.api import Batch
from tui.cancel.audit import AuditLog, audit_path
from tui.cancel.send import AuditContext, cancel_batches
from tui.cli import main
from tui.config import Profile
from tui.monitor import Board, CancelState
from tui.monitor.poller import poll_provider
from tui.session import Session
from tui.sim import FaultRule, SimServer
from tui.text.humanize import count
from tui.ui.app import BatchtopApp
from tui.ui.messages import CancelAnswered
from tui.ui.screens.audit import AuditScreen
from tui.ui.screens.board import BoardScreen
from tui.ui.screens.cancel_progress import CancelProgressScreen
from tui.ui.screens.confirm import ConfirmCancelScreen
from tui.ui.screens.detail import DetailScreen
from tui.ui.screens.typed_confirm import TypedConfirmScreen
from tui.ui.widgets.cells import MARK

SECRET = "sk-bf-secret-audit-9876"
OPENAI = ("openai",)


# -- helpers ------------------------------------------------------------------------------


def cancel_path(batch_id: str) -> str:
    return f"/v1/batches/{urllib.parse.quote(batch_id, safe='')}/cancel"


def sim_ids(sim: SimServer, provider: str = "openai", *, live: bool | None = None) -> list[str]:
    finished = {"completed", "failed", "expired", "cancelled", "canceled", "ended"}
    return [
        str(b["id"]) for b in sim.world.batches(provider) if live is None or (str(b["status"]) not in finished) == live
    ]


def cancels(sim: SimServer, keys) -> dict:
    return {k: sim.world.cancel_count(*k) for k in keys}


def total_cancels(sim: SimServer) -> int:
    return sum(sim.world.cancel_count(p, i) for p in sim.world.providers for i in sim_ids(sim, p))


async def started(pilot, app: BatchtopApp) -> None:
    await wait_for_polls(pilot, app, len(app.runner.health))


async def mark(pilot, app: BatchtopApp, *keys) -> None:
    """Mark ``keys`` with the keyboard: put the cursor on each row and press space."""
    for key in keys:
        assert table_of(app).select(key)
        await pilot.pause()
        await pilot.press("space")
    assert set(keys) <= app.view.marks


async def type_and_enter(pilot, text: str) -> None:
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def summary_of(pilot, app: BatchtopApp) -> CancelProgressScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, CancelProgressScreen) and app.screen.report is not None)
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


# -- 1. marks ---------------------------------------------------------------------------


async def test_marks_toggle_show_a_glyph_and_survive_polls_sorts_and_filters(sim: SimServer) -> None:
    clock = FakeClock()
    app = make_app(sim, clock, providers=("openai", "anthropic"))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        table = table_of(app)
        first = table.selected_key
        await pilot.press("space")
        assert app.view.marks == {first}
        second = table.selected_key
        assert second != first  # space moved down
        assert cell(app, first, "mark") == MARK == "●"  # a glyph, not only colour
        assert cell(app, second, "mark").strip() == ""
        assert "1 marked" in text_of(app, "#board-line")

        await pilot.press("space")
        assert app.view.marks == {first, second}
        assert "2 marked" in text_of(app, "#board-line")
        await pilot.press("up", "up")
        assert table.selected_key == first
        await pilot.press("space")  # again: unmarks
        assert app.view.marks == {second}
        assert cell(app, first, "mark").strip() == ""
        assert cell(app, second, "mark") == MARK
        assert "1 marked" in text_of(app, "#board-line")

        # A poll (the batches moved on) keeps the marks.
        sim.clock.advance(60)
        clock.advance(60)
        await refresh(pilot, app)
        assert app.view.marks == {second}
        assert cell(app, second, "mark") == MARK
        # So does re-sorting.
        for _ in range(2):
            await pilot.press("s")
            assert app.view.marks == {second}
            assert cell(app, second, "mark") == MARK
            assert "1 marked" in text_of(app, "#board-line")

        await pilot.press("A")
        assert app.view.marks == set()
        assert "marked" not in text_of(app, "#board-line")
        assert cell(app, second, "mark").strip() == ""

        # `a` marks exactly what the filter shows.
        await pilot.press("/", *"anthro", "enter")
        shown = set(app.board_screen.shown_keys())
        assert shown == {("anthropic", i) for i in sim_ids(sim, "anthropic")}
        await pilot.press("a")
        assert app.view.marks == shown
        assert f"{len(shown)} marked" in text_of(app, "#board-line")
        assert all(cell(app, k, "mark") == MARK for k in shown)
        await pilot.press("A")
        assert app.view.marks == set()
        assert total_cancels(sim) == 0
        assert app.messages.drawing_errors() == []


# -- 2. the typed confirmation of a bulk cancel -----------------------------------------


async def test_bulk_cancel_asks_for_the_number_that_will_really_be_cancelled(sim: SimServer) -> None:
    app = make_app(sim, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        live = [("openai", i) for i in sim_ids(sim, live=True)][:3]
        done = ("openai", sim_ids(sim, live=False)[0])
        await mark(pilot, app, *live, done)
        assert len(app.view.marks) == 4

        await pilot.press("c")
        assert isinstance(app.screen, TypedConfirmScreen)
        dialog = app.screen
        assert dialog.expected == "3"  # the finished one is not counted
        assert "Cancel 3 batches?" in text_of(app, "#dialog-title")
        facts = text_of(app, "#dialog-facts")
        assert "openai (3)" in facts
        pending = sum(app.board.get(k).batch.request_counts.pending or 0 for k in live)
        assert f"{count(pending)} pending requests" in facts
        for _, batch_id in live:
            assert batch_id in facts
        assert done[1] not in facts
        assert "1 marked batch(es) already finished" in facts  # says 1 skipped
        assert "Type 3" in text_of(app, "#typed-prompt")

        # Enter with nothing typed: nothing sent, told what to type.
        await type_and_enter(pilot, "")
        assert app.screen is dialog
        assert "Type 3" in text_of(app, "#typed-error")
        # The wrong number (4 were marked), or "y": nothing sent, an error.
        for wrong in ("4", "y"):
            await type_and_enter(pilot, wrong)
            assert app.screen is dialog
            assert f"“{wrong}” is not 3" in text_of(app, "#typed-error")
        await pilot.pause(0.2)
        assert total_cancels(sim) == 0

        # escape keeps them all running, marks too.
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)
        await pilot.pause(0.2)
        assert total_cancels(sim) == 0
        assert app.view.marks == {*live, done}
        assert all(app.board.get(k).cancel_state is None for k in live)

        # The right number: one cancel per live batch, none for the finished one.
        await pilot.press("c")
        assert isinstance(app.screen, TypedConfirmScreen)
        await type_and_enter(pilot, "3")
        progress = await summary_of(pilot, app)
        assert "3 accepted, 0 refused, 0 failed" in text_of(app, "#progress-title")
        assert progress.report.summary() == "3 accepted, 0 refused, 0 failed"
        assert cancels(sim, live) == {k: 1 for k in live}
        assert sim.world.cancel_count(*done) == 0
        assert total_cancels(sim) == 3
        body = text_of(app, "#progress-body")
        assert body.count("accepted") == 3
        # Accepted ones are unmarked; the skipped finished one stays marked.
        assert app.view.marks == {done}
        assert all(app.board.get(k).cancel_state is CancelState.ACCEPTED for k in live)
        await pilot.press("enter")
        assert isinstance(app.screen, BoardScreen)
        assert app.messages.drawing_errors() == []


async def test_summary_cannot_be_closed_before_every_answer_is_in(sim: SimServer) -> None:
    # Answers slow enough that the keys below come before them, on a loaded machine too
    # (0.6 s was not, once, with two test workers on two cores).
    sim.faults.add(FaultRule("latency", delay=2.0, method="POST"))
    app = make_app(sim, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        live = [("openai", i) for i in sim_ids(sim, live=True)][:2]
        await mark(pilot, app, *live)
        await pilot.press("c", "2", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CancelProgressScreen))
        await pilot.press("escape", "enter")
        assert isinstance(app.screen, CancelProgressScreen)  # read the summary first
        await summary_of(pilot, app)
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


# -- 3. protected profile ---------------------------------------------------------------


async def test_protected_profile_asks_for_the_last_four_characters(sim: SimServer) -> None:
    app = make_app(sim, providers=OPENAI, protected=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        key = ("openai", sim_ids(sim, live=True)[1])
        assert table_of(app).select(key)
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, TypedConfirmScreen)  # not the y/N dialog
        dialog = app.screen
        assert dialog.expected == key[1][-4:]
        assert key[1][-4:] in text_of(app, "#typed-prompt")
        assert "last four characters" in text_of(app, "#typed-prompt")
        for wrong in ("y", "1", key[1][-3:], key[1][:4]):
            await type_and_enter(pilot, wrong)
            assert app.screen is dialog, wrong
        await pilot.pause(0.2)
        assert total_cancels(sim) == 0
        await type_and_enter(pilot, key[1][-4:])
        await wait_until(pilot, lambda: app.board.get(key).cancel_state is CancelState.ACCEPTED)
        assert sim.world.cancel_count(*key) == 1
        assert total_cancels(sim) == 1


# -- 4. a bulk cancel that fails part-way, and retry --------------------------------------


async def test_partial_failure_summary_then_retry_sends_only_the_failed(sim: SimServer) -> None:
    app = make_app(sim, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        validating, fast, stalled, slow = sim_ids(sim, live=True)
        assert sim.world.batch("openai", fast)["request_counts"]["total"] == 300  # the fast one
        keys = [("openai", i) for i in (validating, fast, stalled, slow)]
        await mark(pilot, app, *keys)
        # The fast batch finishes on the gateway after the last poll, before the cancel:
        # the provider refuses. The stalled one gets a 503, the slow one's connection drops.
        sim.clock.advance(200)
        assert sim.world.batch("openai", fast)["status"] == "completed"
        assert all(
            sim.world.batch("openai", i)["status"] in ("validating", "in_progress") for i in (validating, stalled, slow)
        )
        sim.faults.add(FaultRule("status", status=503, method="POST", path=cancel_path(stalled), times=1))
        sim.faults.add(FaultRule("drop", method="POST", path=cancel_path(slow), times=1))

        await pilot.press("c")
        assert app.screen.expected == "4"
        await type_and_enter(pilot, "4")
        progress = await summary_of(pilot, app)
        report = progress.report
        assert report.summary() == "1 accepted, 1 refused, 2 failed"
        assert "1 accepted, 1 refused, 2 failed" in text_of(app, "#progress-title")
        # One action, one cancel each.
        assert cancels(sim, keys) == {k: 1 for k in keys}

        by_id = {o.batch.id: o for o in report.outcomes}
        assert by_id[validating].outcome == "accepted"
        assert by_id[fast].outcome == "refused"
        assert by_id[stalled].outcome == "failed" and by_id[stalled].sent is True
        assert by_id[slow].outcome == "failed" and by_id[slow].sent is None  # maybe it arrived
        body = text_of(app, "#progress-body")
        lines = {i: next(line for line in body.splitlines() if i in line) for i in by_id}
        # The refusal carries the gateway's own words.
        assert "Cannot cancel a batch with status 'completed'" in lines[fast]
        assert "sent, no answer" in lines[slow]
        assert "(sent)" in lines[stalled]
        assert "r retries the 2 that failed" in text_of(app, "#progress-hint")
        assert progress.check_action("retry", ()) is True
        # Only the accepted one is unmarked.
        assert app.view.marks == {("openai", i) for i in (fast, stalled, slow)}
        # The refused batch was fetched again: the board now knows it finished.
        await wait_until(pilot, lambda: app.board.get(("openai", fast)).batch.finished)

        # r: only the two failed ones go again.
        await pilot.press("r")
        retry = await summary_of(pilot, app)
        assert retry is not progress
        assert retry.report.summary() == "2 accepted, 0 refused, 0 failed"
        assert {o.batch.id for o in retry.report.outcomes} == {stalled, slow}
        assert cancels(sim, keys) == {
            ("openai", validating): 1,
            ("openai", fast): 1,
            ("openai", stalled): 2,
            ("openai", slow): 2,
        }
        assert app.view.marks == {("openai", fast)}
        assert retry.check_action("retry", ()) is False  # nothing left to retry
        assert app.messages.drawing_errors() == []


# -- 5. a slow gateway ------------------------------------------------------------------


async def test_no_double_send_while_a_bulk_cancel_is_in_flight(sim: SimServer) -> None:
    # Long enough that the cancels are still in flight on a loaded machine.
    sim.faults.add(FaultRule("latency", delay=2.5, method="POST"))
    app = make_app(sim, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        keys = [("openai", i) for i in sim_ids(sim, live=True)[1:3]]
        await mark(pilot, app, *keys)
        await pilot.press("c", "2", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CancelProgressScreen))
        await pilot.pause(0.1)
        assert app.screen.report is None  # still in flight
        for key in keys:
            assert app.board.get(key).cancel_state is CancelState.SENDING
            assert "cancelling…" in cell(app, key, "status")
            assert not app.cancels.can_cancel(key)
        board = app.board_screen
        assert board.cancel_keys() == keys or set(board.cancel_keys()) == set(keys)
        assert board.check_action("cancel", ()) is None
        # Every way of asking again while they are in flight.
        await pilot.press("c", "2", "enter", "c", "y")
        app.cancels.request(keys)
        await pilot.pause()
        assert not isinstance(app.screen, (TypedConfirmScreen, ConfirmCancelScreen))
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert app.screen.report is None, "the cancels answered too soon for this test to mean anything"
        assert not any(t.startswith("Cancel ") for t in titles)
        await summary_of(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, BoardScreen)
        assert app.view.marks == set()  # accepted: unmarked
        for key in keys:  # the batches are cancelling now: nothing to confirm
            assert table_of(app).select(key)
            await pilot.pause()
            assert app.screen.check_action("cancel", ()) is None
            await pilot.press("c")
            await pilot.pause(0.1)
            assert isinstance(app.screen, BoardScreen)
        assert cancels(sim, keys) == {k: 1 for k in keys}
        assert total_cancels(sim) == 2


# -- 6. the audit log -------------------------------------------------------------------


def keyed_session(sim: SimServer, providers=OPENAI) -> Session:
    profile = Profile.model_validate({"base_url": sim.base_url, "providers": list(providers), "interval": 3600.0})
    return Session("incident", profile, SECRET, None)


async def test_audit_has_one_line_per_attempt_without_the_key_and_L_shows_this_session() -> None:
    with SimServer(seed=7, frozen=True, start_time=START, api_key=SECRET) as sim:
        other = AuditLog(source="cli", session="othersession")
        other.record(
            profile="elsewhere",
            gateway="other.example:443",
            provider="openai",
            batch_id="batch_from_another_session",
            status_before="in_progress",
            counts={"total": 1},
            outcome="accepted",
        )
        app = WatchedApp(keyed_session(sim), clock=FakeClock())
        async with app.run_test(size=(80, 24)) as pilot:
            await started(pilot, app)
            keys = [("openai", i) for i in sim_ids(sim, live=True)[1:4]]
            before = {k: app.board.get(k).batch for k in keys}
            sim.faults.add(FaultRule("status", status=503, method="POST", path=cancel_path(keys[2][1])))
            await mark(pilot, app, *keys)
            await pilot.press("c", "3", "enter")
            await summary_of(pilot, app)

            records = AuditLog(source="tui").read()
            assert len(records) == 4
            mine = [r for r in records if r.source == "tui"]
            assert len(mine) == 3  # one line per attempt
            assert {r.batch_id for r in mine} == {k[1] for k in keys}
            assert {r.session for r in mine} == {app.audit.session}
            for record in mine:
                assert record.time.endswith("Z") and record.timestamp is not None
                assert abs(record.timestamp - __import__("time").time()) < 120
                assert record.profile == "incident"
                assert record.gateway == f"127.0.0.1:{sim.port}"
                assert record.provider == "openai"
                assert record.user and record.host
                batch = before[("openai", record.batch_id)]
                assert record.status_before == batch.status
                assert record.counts["total"] == batch.request_counts.total
                assert record.counts["pending"] == batch.request_counts.pending
            outcomes = {r.batch_id: r.outcome for r in mine}
            assert outcomes == {keys[0][1]: "accepted", keys[1][1]: "accepted", keys[2][1]: "failed"}
            failed = next(r for r in mine if r.outcome == "failed")
            assert failed.sent is True and failed.message

            raw = audit_path().read_text(encoding="utf-8")
            assert SECRET not in raw and "secret-audit" not in raw and "9876" not in raw
            assert SECRET not in app.export_screenshot()

            await pilot.press("enter")
            await pilot.press("L")
            assert isinstance(app.screen, AuditScreen)
            screen = app.screen
            assert {r.batch_id for r in screen.records} == {k[1] for k in keys}
            assert all(r.session == app.audit.session for r in screen.records)
            shot = app.export_screenshot()
            assert "(3)" in shot
            assert "batch_from_another_session" not in shot
            assert SECRET not in shot and "secret-audit" not in shot
            await pilot.press("escape")
            assert isinstance(app.screen, BoardScreen)
            assert app.messages.drawing_errors() == []


# -- 7. the audit line is on disk before the UI says anything ---------------------------


async def test_audit_line_is_on_disk_before_the_outcome_reaches_the_ui(sim: SimServer) -> None:
    app = make_app(sim, providers=OPENAI)
    seen: list[tuple[str, str, list[str]]] = []

    def checking(message) -> None:
        # Called as the app is about to take the answer in: nothing on screen knows it yet.
        if isinstance(message, CancelAnswered):
            outcome = message.outcome
            on_disk = [r for r in audit_lines() if r["batch_id"] == outcome.batch.id]
            seen.append((outcome.batch.id, outcome.outcome, [r["outcome"] for r in on_disk]))

    app.messages.listeners.append(checking)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        ids = sim_ids(sim, live=True)
        sim.faults.add(FaultRule("status", status=503, method="POST", path=cancel_path(ids[2])))
        # Several at once (one of them failing)...
        await mark(pilot, app, *[("openai", i) for i in ids[1:3]])
        await pilot.press("c", "2", "enter")
        await summary_of(pilot, app)
        await pilot.press("escape", "A")
        # ...and a single one through the y/N dialog.
        assert table_of(app).select(("openai", ids[3]))
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmCancelScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: len(seen) == 3)
    assert sorted(seen) == sorted(
        [
            (ids[1], "accepted", ["accepted"]),
            (ids[2], "failed", ["failed"]),
            (ids[3], "accepted", ["accepted"]),
        ]
    )
    assert app.messages.drawing_errors() == []


async def test_engine_dedups_bounds_concurrency_and_records_before_reporting(tmp_path) -> None:
    """cancel_batches without HTTP: 20 batches (one twice), a client that counts."""
    batches = [
        Batch.from_wire(
            {
                "id": f"batch_{i:02d}",
                "status": "in_progress",
                "request_counts": {"total": 10, "completed": 1, "failed": 0},
            },
            "openai",
        )
        for i in range(20)
    ]
    in_flight = peak = 0
    sent: list[str] = []
    events: list[tuple[str, str]] = []

    class Client:
        async def cancel(self, provider: str, batch_id: str, *, on_sent=None) -> Batch:
            nonlocal in_flight, peak
            sent.append(batch_id)
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            return Batch.from_wire(
                {"id": batch_id, "status": "cancelling", "request_counts": {"total": 10, "completed": 1, "failed": 0}},
                provider,
            )

    class Audit:
        def record(self, **fields) -> None:
            events.append(("audit", fields["batch_id"]))

    report = await cancel_batches(
        Client(),
        [*batches, batches[3]],
        audit=Audit(),  # type: ignore[arg-type]
        context=AuditContext("p", "g"),
        on_outcome=lambda o: events.append(("ui", o.batch.id)),
    )
    assert sorted(sent) == sorted(b.id for b in batches)  # each once
    assert 1 < peak <= 8
    assert report.summary() == "20 accepted, 0 refused, 0 failed"
    assert [o.batch.id for o in report.outcomes] == [b.id for b in batches]
    for batch in batches:
        assert events.index(("audit", batch.id)) < events.index(("ui", batch.id))


# -- 8. read-only ------------------------------------------------------------------------


async def test_read_only_closes_every_path_to_cancel(sim: SimServer, capsys) -> None:
    app = make_app(sim, providers=OPENAI, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert "READ-ONLY" in text_of(app, "#header")
        live = [("openai", i) for i in sim_ids(sim, live=True)]
        key = live[1]
        # c on a live batch.
        assert table_of(app).select(key)
        await pilot.pause()
        assert app.screen.check_action("cancel", ()) is None
        await pilot.press("c")
        assert isinstance(app.screen, BoardScreen)
        # Marks, then c (and typing what a dialog would want).
        await mark(pilot, app, *live[:3])
        await pilot.press("c", "3", "y")
        assert isinstance(app.screen, BoardScreen)
        # The palette offers no cancel.
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(t.startswith("Cancel") for t in titles), titles
        # Straight to the app.
        app.cancels.request([key])
        app.cancels.request(live)
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        app.cancels.start([app.board.get(k).batch for k in live])  # even past the dialog
        await pilot.pause(0.2)
        assert isinstance(app.screen, BoardScreen)
        # The detail screen.
        await pilot.press("A")
        assert table_of(app).select(key)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.check_action("cancel", ()) is None
        await pilot.press("c", "y")
        assert isinstance(app.screen, DetailScreen)
        await pilot.pause(0.3)
    # The CLI with --read-only.
    for args in (["cancel", key[1], "--yes"], ["cancel", "--all", "--yes"]):
        code = main([*args, "--read-only", "--provider", "openai", "--base-url", sim.base_url])
        assert code == 2
        assert "read-only" in capsys.readouterr().err
    assert total_cancels(sim) == 0
    assert audit_lines() == []


# -- 9. the detail screen's cancel timeline ------------------------------------------------


async def test_detail_timeline_after_a_cancel(sim: SimServer) -> None:
    clock = FakeClock(START + 5)
    app = make_app(sim, clock, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        key = ("openai", sim_ids(sim, live=True)[3])  # the slow one: far from done
        assert table_of(app).select(key)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        assert text_of(app, "#detail-cancel") == ""  # nobody cancelled it
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmCancelScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.board.get(key).cancel_state is CancelState.ACCEPTED)
        await wait_until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and "cancelling at" in text_of(app, "#detail-cancel")
        )
        timeline = text_of(app, "#detail-cancel")
        lines = {line.strip().split("  ")[0]: line for line in timeline.splitlines()}
        assert "asked (this session)" in lines and "—" not in lines["asked (this session)"]
        assert "—" not in lines["cancelling at"]
        assert lines["cancelled at"].rstrip().endswith("—")
        assert "not finished yet" in lines["requests dropped"]

        sim.clock.advance(60)
        clock.advance(60)
        await refresh(pilot, app)
        assert app.board.get(key).batch.outcome == "cancelled"
        timeline = text_of(app, "#detail-cancel")
        lines = {line.strip().split("  ")[0]: line for line in timeline.splitlines()}
        assert "—" not in lines["cancelled at"] and any(ch.isdigit() for ch in lines["cancelled at"])
        dropped = lines["requests dropped"].split("requests dropped")[1].strip()
        assert dropped and dropped[0].isdigit(), timeline
        expected = app.board.get(key).batch.request_counts.canceled_count
        assert expected and dropped == count(expected)
        assert sim.world.cancel_count(*key) == 1


# -- 10. following a live batch that fell off the listing ----------------------------------


async def test_poller_follows_a_batch_off_the_first_page_and_marks_unknown_ones_gone(sim: SimServer) -> None:
    board = Board(lambda: START)
    session = make_app(sim, providers=OPENAI).session
    async with session.client() as client:
        board.apply((await client.list_batches("openai")).batches)
        live = sim_ids(sim, live=True)
        ghost = Batch.from_wire(
            {
                "id": "batch_ghost_not_on_gateway",
                "status": "in_progress",
                "request_counts": {"total": 10, "completed": 2, "failed": 0},
            },
            "openai",
        )
        board.apply([ghost])

        first_page = (await client.list_batches("openai", limit=1, page_cap=1)).batches
        assert [b.id for b in first_page] == [live[0]]  # only the newest is on a page one of 1

        result = await poll_provider(client, "openai", board, limit=1)
    got = {b.id: b for b in result.batches}
    for batch_id in live:  # every live one followed, listed or not
        assert batch_id in got
        assert got[batch_id].status == sim.world.batch("openai", batch_id)["status"]
    # Finished batches missing from the list are not fetched again.
    assert not set(got) & set(sim_ids(sim, live=False))
    assert result.gone == [("openai", ghost.id)]
    # A poll lists page one on purpose (the history walk lists the rest): no shortfall to report.
    assert result.listing_note is None


# -- quitting while cancels are in flight ----------------------------------------------


async def test_quitting_mid_cancel_still_leaves_a_record_of_what_was_sent(sim: SimServer) -> None:
    # The answers are held 3 s: long enough that, even on a loaded machine, the app is
    # quit before they come (at 1 s, a clean-clone CI run saw the report in first).
    sim.faults.add(FaultRule("latency", delay=3.0, method="POST"))
    app = make_app(sim, providers=OPENAI)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        keys = [("openai", i) for i in sim_ids(sim, live=True)[1:3]]
        await mark(pilot, app, *keys)
        await pilot.press("c", "2", "enter")
        await wait_until(pilot, lambda: all(sim.world.cancel_count(*k) == 1 for k in keys))
        assert isinstance(app.screen, CancelProgressScreen) and app.screen.report is None
        await pilot.press("q")
        await pilot.pause(0.1)
    assert cancels(sim, keys) == {k: 1 for k in keys}  # the gateway got both...
    await asyncio.sleep(3.2)
    assert all(sim.world.batch(*k)["status"] == "cancelling" for k in keys)  # ...and acted on them
    assert sorted(r["batch_id"] for r in audit_lines()) == sorted(k[1] for k in keys)


async def test_poller_cap_does_not_starve_batches_beyond_the_first_24() -> None:
    from tui.api.client import BatchListing
    from tui.monitor.poller import MAX_RETRIEVES_PER_POLL

    n = MAX_RETRIEVES_PER_POLL + 6

    def job(i: int, counts: dict) -> Batch:
        return Batch.from_wire(
            {
                "id": f"arn:aws:bedrock:us-east-1:1:model-invocation-job/j{i:03d}",
                "status": "InProgress",
                "created_at": int(START) - i,
                "request_counts": counts,
            },
            "bedrock",
        )

    retrieved: set[str] = set()

    class Client:  # Bedrock: every live job listed, none with counts; retrieve has them
        origin = ""

        async def list_batches(self, provider: str, **_: object) -> BatchListing:
            return BatchListing(
                provider, [job(i, {"total": 0, "completed": 0, "failed": 0}) for i in range(n)], pages=1
            )

        async def retrieve(self, provider: str, batch_id: str) -> Batch:
            retrieved.add(batch_id)
            return job(int(batch_id[-3:]), {"total": 100, "completed": 40, "failed": 1})

    board = Board(lambda: START)
    for _ in range(3):
        result = await poll_provider(Client(), "bedrock", board)  # type: ignore[arg-type]
        board.apply(result.batches)
    assert len(retrieved) == n  # every job got its counts within a few polls
    assert all(t.batch.request_counts.known for t in board.tracked())
