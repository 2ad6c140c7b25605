"""On-call signals and events with a fake clock: stalled, stuck, failing, at risk, bad
outcomes, attention, and each event raised once per batch and condition.

Wire facts used here: OpenAI-backed batches send total/completed/failed only
(core/providers/openai/batch.go); Anthropic's counts stay put until the batch ends
(core/providers/anthropic/batch.go ToBifrostBatchRetrieveResponse); Gemini's completed
counts failures too (core/providers/gemini/gemini.go batchRetrieveByKey).
"""

from __future__ import annotations

from typing import Any

import pytest

from tui.api import Batch
from tui.config.model import Profile
from tui.monitor import Board
from tui.monitor.events import EventBook
from tui.monitor.signals import (
    SignalKind,
    SignalRules,
    bad_outcome,
    needs_attention,
    rules_for,
    signals_of,
)

MIN = 60.0
T0 = 1_800_000_000.0
RULES = SignalRules()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def batch(
    batch_id: str = "b",
    *,
    status: str = "in_progress",
    total: int = 1000,
    completed: int = 0,
    failed: int = 0,
    provider: str = "openai",
    **fields: Any,
) -> Batch:
    wire = {
        "id": batch_id,
        "status": status,
        "created_at": int(T0 - 3600),
        "request_counts": {"total": total, "completed": completed, "failed": failed},
        **fields,
    }
    return Batch.from_wire(wire, provider)


def kinds(board: Board, key: tuple[str, str], now: float, rules: SignalRules = RULES) -> set[SignalKind]:
    tracked = board.get(key)
    assert tracked is not None
    return {s.kind for s in signals_of(tracked, now, rules)}


def polled(board: Board, clock: Clock, *batches: Batch, every: float = 60.0) -> None:
    clock.now += every
    board.apply(batches)


# -- stalled ------------------------------------------------------------------------------


def test_stalled_after_ten_minutes_without_progress_and_for_how_long() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([batch(completed=100)])
    for _ in range(9):
        polled(board, clock, batch(completed=100))
    assert SignalKind.STALLED not in kinds(board, ("openai", "b"), clock.now)  # 9 minutes
    polled(board, clock, batch(completed=100))
    signals = signals_of(board.get(("openai", "b")), clock.now, RULES)  # type: ignore[arg-type]
    assert [s.kind for s in signals] == [SignalKind.STALLED]
    assert signals[0].text(clock.now) == "STALLED 10m"
    polled(board, clock, batch(completed=101))  # it moved: no longer stalled
    assert not kinds(board, ("openai", "b"), clock.now)


def test_a_stall_longer_than_the_history_holds_is_still_seen() -> None:
    # 5 s polls for an hour: the bounded history keeps only a few minutes of them.
    clock = Clock()
    board = Board(clock)
    board.apply([batch(completed=100)])
    for _ in range(720):
        polled(board, clock, batch(completed=100), every=5.0)
    signal = signals_of(board.get(("openai", "b")), clock.now, RULES)[0]  # type: ignore[arg-type]
    assert signal.kind is SignalKind.STALLED and signal.text(clock.now) == "STALLED 1h"


def test_nothing_done_since_it_started_is_a_stall_from_the_gateways_start_time() -> None:
    clock = Clock()
    board = Board(clock)
    started = batch(completed=0, in_progress_at=int(T0 - 25 * MIN))
    board.apply([started])
    polled(board, clock, started, every=2)
    assert not kinds(board, ("openai", "b"), clock.now)  # two polls: too few to judge
    polled(board, clock, started, every=2)
    signal = signals_of(board.get(("openai", "b")), clock.now, RULES)[0]  # type: ignore[arg-type]
    assert signal.kind is SignalKind.STALLED and signal.text(clock.now) == "STALLED 25m"


def test_counts_at_end_providers_never_stall() -> None:
    clock = Clock()
    board = Board(clock)
    anthropic = batch(provider="anthropic", in_progress_at=int(T0 - 5 * 3600))
    for _ in range(20):
        polled(board, clock, anthropic)
    assert SignalKind.STALLED not in kinds(board, ("anthropic", "b"), clock.now)


def test_stall_threshold_comes_from_the_profile() -> None:
    profile = Profile(base_url="http://gw", providers=["openai"], signals={"stall_minutes": 2})
    rules = rules_for(profile.signals)
    clock = Clock()
    board = Board(clock)
    for _ in range(3):
        polled(board, clock, batch(completed=5))
    assert SignalKind.STALLED in kinds(board, ("openai", "b"), clock.now, rules)
    assert SignalKind.STALLED not in kinds(board, ("openai", "b"), clock.now)


# -- stuck --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "stamp", "limit"),
    [("validating", "created_at", 30), ("finalizing", "finalizing_at", 30), ("cancelling", "cancelling_at", 15)],
)
def test_stuck_beyond_the_states_limit_by_the_gateways_time(status: str, stamp: str, limit: int) -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([batch(status=status, **{stamp: int(T0 - (limit - 1) * MIN)})])
    assert SignalKind.STUCK not in kinds(board, ("openai", "b"), clock.now)
    clock.now += MIN
    signal = signals_of(board.get(("openai", "b")), clock.now, RULES)[0]  # type: ignore[arg-type]
    assert signal.kind is SignalKind.STUCK
    assert signal.text(clock.now) == f"STUCK {status} {limit}m"
    assert signal.text(clock.now, short=True) == f"STUCK {limit}m"


def test_stuck_without_a_gateway_time_counts_from_when_the_board_saw_the_state() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([batch(status="in_progress", completed=900)])
    polled(board, clock, batch(status="finalizing", completed=1000))
    clock.now += 29 * MIN
    assert SignalKind.STUCK not in kinds(board, ("openai", "b"), clock.now)
    clock.now += MIN
    assert SignalKind.STUCK in kinds(board, ("openai", "b"), clock.now)


def test_in_progress_is_never_stuck_and_custom_limits_apply() -> None:
    rules = rules_for(
        Profile(base_url="http://gw", providers=["x"], signals={"stuck_minutes": {"cancelling": 5}}).signals
    )
    assert rules.stuck_after["cancelling"] == 300 and rules.stuck_after["finalizing"] == 1800
    clock = Clock()
    board = Board(clock)
    board.apply([batch("c", status="cancelling", cancelling_at=int(T0 - 6 * MIN)), batch("r", in_progress_at=1)])
    assert SignalKind.STUCK in kinds(board, ("openai", "c"), clock.now, rules)
    assert SignalKind.STUCK not in kinds(board, ("openai", "c"), clock.now)
    assert SignalKind.STUCK not in kinds(board, ("openai", "r"), clock.now, rules)


# -- failing and bad outcomes -------------------------------------------------------------


def test_failing_above_five_percent_after_twenty_finished() -> None:
    board = Board(Clock())
    board.apply(
        [
            batch("few", completed=10, failed=9),  # 19 finished: too few to judge
            batch("edge", completed=95, failed=5),  # exactly 5 %: not above
            batch("over", completed=94, failed=6),
        ]
    )
    now = T0
    assert SignalKind.FAILING not in kinds(board, ("openai", "few"), now)
    assert SignalKind.FAILING not in kinds(board, ("openai", "edge"), now)
    signal = next(s for s in signals_of(board.get(("openai", "over")), now, RULES) if s.kind is SignalKind.FAILING)  # type: ignore[arg-type]
    assert signal.text(now) == "FAILING 6%"


def test_gemini_failure_rate_reads_completed_as_including_failures() -> None:
    # completed 100 (processed), failed 8 → succeeded 92, rate 8 %.
    board = Board(Clock())
    board.apply([batch(provider="gemini", completed=100, failed=8, succeeded=92, pending=900)])
    signal = signals_of(board.get(("gemini", "b")), T0, RULES)  # type: ignore[arg-type]
    assert [s.text(T0) for s in signal if s.kind is SignalKind.FAILING] == ["FAILING 8%"]


@pytest.mark.parametrize(
    ("counts", "status", "bad"),
    [
        ({"total": 100, "completed": 100, "failed": 0}, "completed", False),
        ({"total": 100, "completed": 0, "failed": 100}, "completed", True),  # nothing succeeded
        ({"total": 100, "completed": 90, "failed": 10}, "completed", True),  # 10 % failed
        ({"total": 100, "completed": 96, "failed": 4}, "completed", False),
        ({"total": 100, "completed": 50, "failed": 0}, "expired", True),
        ({"total": 100, "completed": 0, "failed": 0}, "failed", True),
        ({"total": 100, "completed": 20, "failed": 0}, "cancelled", True),
        ({"total": 100, "completed": 50, "failed": 0}, "in_progress", False),  # not finished
    ],
)
def test_bad_outcomes(counts: dict[str, int], status: str, bad: bool) -> None:
    assert bad_outcome(Batch.from_wire({"id": "x", "status": status, "request_counts": counts}, "openai"), RULES) is bad


def test_anthropic_ended_with_every_request_errored_is_bad() -> None:
    ended = Batch.from_wire(
        {"id": "m", "status": "ended", "request_counts": {"total": 50, "completed": 0, "failed": 50}}, "anthropic"
    )
    assert bad_outcome(ended, RULES)


# -- at risk ------------------------------------------------------------------------------


def test_at_risk_when_the_eta_lands_after_expiry() -> None:
    clock = Clock()
    board = Board(clock)
    expires = int(T0 + 3 * 3600 + 20 * MIN)
    board.apply([batch(completed=100, total=1_000_000, expires_at=expires)])
    polled(board, clock, batch(completed=200, total=1_000_000, expires_at=expires))  # 100/min: ~166 h to go
    signal = signals_of(board.get(("openai", "b")), clock.now, RULES)  # type: ignore[arg-type]
    assert [s.text(clock.now) for s in signal] == ["AT RISK 3h left"]


def test_at_risk_under_an_hour_left_and_under_ninety_percent_done() -> None:
    board = Board(Clock())
    board.apply(
        [
            batch("low", completed=800, expires_at=int(T0 + 50 * MIN)),
            batch("high", completed=950, expires_at=int(T0 + 50 * MIN)),
            batch("early", completed=100, expires_at=int(T0 + 61 * MIN)),
        ]
    )
    assert SignalKind.AT_RISK in kinds(board, ("openai", "low"), T0)
    assert SignalKind.AT_RISK not in kinds(board, ("openai", "high"), T0)
    assert SignalKind.AT_RISK not in kinds(board, ("openai", "early"), T0)  # no rate yet, over an hour left


def test_counts_at_end_providers_are_at_risk_from_time_alone() -> None:
    board = Board(Clock())
    board.apply(
        [
            batch("near", provider="anthropic", expires_at=int(T0 + 30 * MIN)),
            batch("far", provider="anthropic", expires_at=int(T0 + 5 * 3600)),
        ]
    )
    assert SignalKind.AT_RISK in kinds(board, ("anthropic", "near"), T0)
    assert SignalKind.AT_RISK not in kinds(board, ("anthropic", "far"), T0)


# -- attention ----------------------------------------------------------------------------


def test_attention_covers_signals_and_recent_bad_ends_only() -> None:
    board = Board(Clock())
    board.apply(
        [
            batch("ok", completed=10),
            batch("stuck", status="cancelling", cancelling_at=int(T0 - 20 * MIN)),
            batch("failed-now", status="failed", failed_at=int(T0 - 10 * MIN)),
            batch("failed-old", status="failed", failed_at=int(T0 - 2 * 3600)),
            batch("fine-end", status="completed", completed=1000, completed_at=int(T0 - MIN)),
        ]
    )
    attention = {
        k[1]
        for k in [("openai", i) for i in ("ok", "stuck", "failed-now", "failed-old", "fine-end")]
        if needs_attention(board.get(k), T0, RULES)
    }  # type: ignore[arg-type]
    assert attention == {"stuck", "failed-now"}


# -- events -------------------------------------------------------------------------------


def test_each_condition_is_announced_once_and_re_armed_when_it_clears() -> None:
    clock = Clock()
    board = Board(clock)
    book = EventBook(RULES)
    board.apply([batch(completed=100)])
    assert book.check(board, clock.now) == []
    for _ in range(10):
        polled(board, clock, batch(completed=100))
    events = book.check(board, clock.now)
    assert [e.event for e in events] == ["stalled"]
    assert events[0].message == "openai b: STALLED 10m" and events[0].title == "batch stalled"
    polled(board, clock, batch(completed=100))
    assert book.check(board, clock.now) == []  # still stalled: said already
    polled(board, clock, batch(completed=150))
    assert book.check(board, clock.now) == []  # moved: cleared, re-armed
    for _ in range(10):
        polled(board, clock, batch(completed=150))
    assert [e.event for e in book.check(board, clock.now)] == ["stalled"]


def test_ends_are_announced_when_a_watched_batch_finishes_not_for_history() -> None:
    clock = Clock()
    board = Board(clock)
    book = EventBook(RULES)
    board.apply([batch("old", status="failed"), batch("run", completed=500)])
    assert book.check(board, clock.now) == []
    clock.now += 60
    change = board.apply([batch("old", status="failed"), batch("run", status="completed", completed=900, failed=100)])
    assert change.finished == [("openai", "run")]
    events = book.check(board, clock.now, change.finished)
    assert [(e.event, e.bad) for e in events] == [("finished", True)]
    assert events[0].title == "batch finished badly"
    assert "10.0% of 1,000 failed" in events[0].message


def test_event_text_is_terminal_safe() -> None:
    clock = Clock()
    board = Board(clock)
    book = EventBook(RULES)
    evil = "\x1b]0;pwned\x07\x9b2J"
    board.apply([batch(evil, completed=1, metadata={"name": evil})])
    change = board.apply([batch(evil, status="failed", completed=1, metadata={"name": evil})])
    (event,) = book.check(board, clock.now, change.finished)
    assert not any(ch in event.message for ch in "\x1b\x07\x9b")


def test_between_sweeps_only_the_polls_batches_are_checked() -> None:
    clock = Clock()
    board = Board(clock)
    book = EventBook(RULES)
    board.apply([batch("a", completed=100), batch("b", completed=100)])
    for _ in range(10):
        polled(board, clock, batch("a", completed=100), batch("b", completed=100))
    assert [e.batch_id for e in book.check(board, clock.now, keys=[("openai", "a")])] == ["a"]
    assert [e.batch_id for e in book.check(board, clock.now)] == ["b"]  # the sweep finds the other
    assert book.check(board, clock.now) == []


def test_every_event_name_is_one_a_profile_can_choose() -> None:
    from tui.config.watching import EVENT_NAMES
    from tui.monitor.events import END_EVENTS

    assert {k.value for k in SignalKind} | set(END_EVENTS.values()) == set(EVENT_NAMES)
