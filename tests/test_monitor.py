"""The board's pure state with a fake clock: deltas, rates, ETA, stalls, sorting, schedule."""

from __future__ import annotations

import pytest

from tui.api import Batch, GatewayError, GatewayHTTPError
from tui.monitor import Board, ProviderHealth, ProviderState, SortOrder, Totals
from tui.monitor.schedule import AUTH_RETRY, BACKOFF_CAP


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def openai(batch_id: str, completed: int, failed: int = 0, total: int = 1000, status: str = "in_progress",
           created: int = 1) -> Batch:
    return Batch.from_wire({"id": batch_id, "status": status, "created_at": created,
                            "request_counts": {"total": total, "completed": completed, "failed": failed}},
                           "openai")


def test_change_and_rates_add_up_over_batches() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([openai("a", 100), openai("b", 0)])
    clock.now += 60
    board.apply([openai("a", 160, 2), openai("b", 30)])
    summary = board.summary()
    assert summary.totals == Totals(pending=1000 - 162 + 1000 - 30, succeeded=190, failed=2)
    assert summary.change.succeeded == 90 and summary.change.failed == 2
    assert summary.change.pending == -92
    assert summary.per_minute is not None and summary.per_minute.succeeded == pytest.approx(90)
    assert board.get(("openai", "a")).rate_per_minute() == pytest.approx(62)
    # ETA: 838 pending at 62/min.
    assert board.get(("openai", "a")).eta_seconds() == pytest.approx(838 / (62 / 60))


def test_summary_over_a_subset() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([openai("a", 100), openai("b", 0)])
    clock.now += 60
    board.apply([openai("a", 160), openai("b", 30)])
    only_b = board.summary([("openai", "b")])
    assert only_b.batches == 1 and only_b.change.succeeded == 30


def test_unknown_counts_are_left_out_not_zero_progress() -> None:
    board = Board(Clock())
    bedrock = Batch.from_wire({"id": "arn:x", "status": "in_progress",
                               "request_counts": {"total": 0, "completed": 0, "failed": 0}}, "bedrock")
    board.apply([bedrock])
    tracked = board.get(("bedrock", "arn:x"))
    assert tracked.eta_seconds() is None and tracked.rate_per_minute() is None
    assert board.summary().totals == Totals()


def test_stall_is_flagged_after_ten_minutes_without_progress() -> None:
    clock = Clock()
    board = Board(clock)
    for _ in range(4):
        board.apply([openai("a", 100)])
        clock.now += 240
    assert board.get(("openai", "a")).stalled(clock.now)
    board.apply([openai("a", 101)])
    assert not board.get(("openai", "a")).stalled(clock.now)


def test_finished_batches_are_never_stalled_and_have_no_eta() -> None:
    clock = Clock()
    board = Board(clock)
    for _ in range(4):
        board.apply([openai("a", 1000, status="completed")])
        clock.now += 600
    tracked = board.get(("openai", "a"))
    assert not tracked.stalled(clock.now) and tracked.eta_seconds() is None


def test_sort_orders_and_filter() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([openai("new", 10, created=3), openai("mid", 900, 50, created=2),
                 openai("old", 1000, status="completed", created=1)])
    assert [k[1] for k in board.sorted_keys(SortOrder.NEWEST)] == ["new", "mid", "old"]
    assert [k[1] for k in board.sorted_keys(SortOrder.PROGRESS)] == ["old", "mid", "new"]
    assert [k[1] for k in board.sorted_keys(SortOrder.FAILED)][0] == "mid"
    assert [k[1] for k in board.sorted_keys(SortOrder.STATUS)][-1] == "old"
    assert [k[1] for k in board.matching("MI")] == ["mid"]
    assert {k[1] for k in board.matching(live_only=True)} == {"new", "mid"}
    assert {k[1] for k in board.matching("completed")} == {"old"}
    assert SortOrder.STATUS.next() is SortOrder.NEWEST


def test_changed_rows_are_reported_and_gone_marked() -> None:
    board = Board(Clock())
    first = board.apply([openai("a", 1)])
    assert first.added == [("openai", "a")]
    same = board.apply([openai("a", 1)])
    assert not same
    moved = board.apply([openai("a", 2)])
    assert moved.changed == [("openai", "a")]
    assert board.mark_gone(("openai", "a")) and board.get(("openai", "a")).gone
    assert not board.mark_gone(("openai", "a"))


def http_error(status: int, error_type: str | None = None, retry_after: float | None = None) -> GatewayHTTPError:
    return GatewayHTTPError(f"{status}: x", status=status, error_type=error_type, retry_after=retry_after)


def test_backoff_doubles_to_the_cap_and_recovers() -> None:
    health = ProviderHealth("openai", interval=2.0)
    delays = []
    for _ in range(8):
        health.failed(100.0, http_error(503))
        delays.append(health.next_poll_at - 100.0)
    assert delays[:4] == [4.0, 8.0, 16.0, 32.0]
    assert max(delays) == BACKOFF_CAP
    assert health.state is ProviderState.STALE
    health.succeeded(200.0)
    assert health.state is ProviderState.OK and health.failures == 0 and health.next_poll_at == 202.0


def test_retry_after_and_auth_slow_polling_down() -> None:
    health = ProviderHealth("openai", interval=1.0)
    health.failed(0.0, http_error(429, retry_after=30))
    assert health.next_poll_at >= 30
    health.poll_now(1.0)  # r does not override the gateway's request to wait
    assert health.next_poll_at >= 30
    health.failed(0.0, http_error(401))
    assert health.next_poll_at >= AUTH_RETRY
    assert "key rejected" in health.describe(0.0)


def test_unsupported_provider_is_unavailable_not_stale() -> None:
    health = ProviderHealth("mistral", interval=1.0)
    health.failed(0.0, http_error(400, "unsupported_operation"))
    assert health.state is ProviderState.UNAVAILABLE
    assert health.describe(0.0).startswith("unavailable")


def test_stale_description_names_age_reason_and_retry() -> None:
    health = ProviderHealth("openai", interval=4.0)
    health.succeeded(100.0)
    health.failed(140.0, GatewayError("x", short="503 from gateway"))
    assert health.describe(140.0) == "stale 40s · 503 from gateway · retry in 8s"
