"""The board's pure state with a fake clock: deltas, rates, ETA, stalls, sorting, schedule."""

from __future__ import annotations

import pytest

from tui.api import Batch, GatewayError, GatewayHTTPError
from tui.monitor import Board, ProviderHealth, ProviderState, SortOrder, Totals
from tui.monitor.history import TREND_POLLS
from tui.monitor.poller import ProviderPoll
from tui.monitor.schedule import AUTH_RETRY, BACKOFF_CAP


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def openai(
    batch_id: str, completed: int, failed: int = 0, total: int = 1000, status: str = "in_progress", created: int = 1
) -> Batch:
    return Batch.from_wire(
        {
            "id": batch_id,
            "status": status,
            "created_at": created,
            "request_counts": {"total": total, "completed": completed, "failed": failed},
        },
        "openai",
    )


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
    bedrock = Batch.from_wire(
        {"id": "arn:x", "status": "in_progress", "request_counts": {"total": 0, "completed": 0, "failed": 0}}, "bedrock"
    )
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
    board.apply(
        [
            openai("new", 10, created=3),
            openai("mid", 900, 50, created=2),
            openai("old", 1000, status="completed", created=1),
        ]
    )
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


def test_a_poll_is_taken_whole_batches_and_gone_ones() -> None:
    board = Board(Clock())
    board.apply([openai("a", 1), openai("b", 1)])
    poll = ProviderPoll("openai", batches=[openai("a", 2), openai("c", 0)], gone=[("openai", "b")])
    change = board.take(poll)
    assert change.added == [("openai", "c")]
    assert change.changed == [("openai", "a"), ("openai", "b")]
    assert board.get(("openai", "b")).gone  # kept on the board, marked
    assert not board.take(ProviderPoll("openai", batches=[openai("a", 2), openai("c", 0)], gone=[("openai", "b")]))


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


# -- counts at end: Anthropic and Bedrock (issue 8) -------------------------------------------


def anthropic_running(
    batch_id: str, total: int = 500, created: int = 1_000_000 - 7200, expires: int | None = 1_000_000 + 3600 * 20
) -> Batch:
    """A running Anthropic batch as Bifrost sends it (core/providers/anthropic/batch.go
    ToBifrostBatchRetrieveResponse): processing = total, so total N, completed 0, failed 0,
    pending N — and so until the batch has ended."""
    body = {
        "id": batch_id,
        "object": "batch",
        "status": "in_progress",
        "processing_status": "in_progress",
        "created_at": created,
        "request_counts": {"total": total, "completed": 0, "failed": 0, "pending": total},
    }
    if expires is not None:
        body["expires_at"] = expires
    return Batch.from_wire(body, "anthropic")


def test_counts_at_end_batch_never_stalls_and_has_no_rate_or_eta() -> None:
    clock = Clock()
    board = Board(clock)
    for _ in range(20):  # an hour and a half of polls with the counts standing still
        board.apply([anthropic_running("msgbatch_a")])
        clock.now += 300
    tracked = board.get(("anthropic", "msgbatch_a"))
    assert tracked.batch.counts_at_end
    assert tracked.batch.request_counts.progress is None  # not 0 %
    assert tracked.batch.request_counts.pending == 500  # what the gateway says is pending
    assert not tracked.stalled(clock.now)
    assert tracked.rate_per_minute() is None and tracked.eta_seconds() is None
    assert tracked.running_for(clock.now) == pytest.approx(clock.now - (1_000_000 - 7200))
    assert tracked.time_left(clock.now) == pytest.approx(1_000_000 + 3600 * 20 - clock.now)


def test_an_openai_batch_standing_still_does_stall() -> None:
    """The same stillness from a provider whose counts move is a stall: the rule is the
    provider's, not a blanket exemption."""
    clock = Clock()
    board = Board(clock)
    for _ in range(5):
        board.apply([openai("a", 100)])
        clock.now += 300
    assert board.get(("openai", "a")).stalled(clock.now)


def test_counts_at_end_batch_that_ended_reads_its_final_counts() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply([anthropic_running("msgbatch_a", total=100)])
    clock.now += 60
    ended = Batch.from_wire(
        {
            "id": "msgbatch_a",
            "object": "batch",
            "status": "ended",
            "processing_status": "ended",
            "created_at": 1,
            "completed_at": int(clock.now),
            "request_counts": {"total": 100, "completed": 97, "failed": 3, "succeeded": 97},
        },
        "anthropic",
    )
    board.apply([ended])
    tracked = board.get(("anthropic", "msgbatch_a"))
    assert not tracked.batch.counts_at_end
    assert tracked.batch.request_counts.progress == 1.0
    assert tracked.batch.outcome == "completed"
    assert tracked.time_left(clock.now) is None and tracked.running_for(clock.now) is None


def test_bedrock_running_job_is_counts_at_end_too() -> None:
    """core/providers/bedrock/bedrock.go BatchRetrieve: counts come from the job's output
    manifest, which exists only when the job has ended (zeros until then)."""
    running = Batch.from_wire(
        {
            "id": "arn:aws:bedrock:us-east-1:1:model-invocation-job/x",
            "object": "batch",
            "status": "in_progress",
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        },
        "bedrock",
    )
    assert running.counts_at_end and not running.request_counts.known


def test_gemini_progress_counts_failures_once() -> None:
    """core/providers/gemini/gemini.go batchRetrieveByKey: completed = requestCount -
    pendingRequestCount (failures included), failed = completed - successful. 300 ok, 100
    failed, 600 pending is 40 % done, not 50 %."""
    batch = Batch.from_wire(
        {
            "id": "batches/g",
            "object": "batch",
            "status": "in_progress",
            "request_counts": {"total": 1000, "completed": 400, "failed": 100, "succeeded": 300, "pending": 600},
        },
        "gemini",
    )
    counts = batch.request_counts
    assert counts.progress == pytest.approx(0.4)
    assert (counts.succeeded, counts.failed_count, counts.pending, counts.done) == (300, 100, 600, 400)
    assert Totals.of([batch]) == Totals(pending=600, succeeded=300, failed=100)


def test_gemini_all_failed_has_none_succeeded() -> None:
    """Gemini omits succeeded when it is 0 (omitempty): completed 50, failed 50 means 0 ok."""
    batch = Batch.from_wire(
        {
            "id": "batches/g",
            "object": "batch",
            "status": "completed",
            "done": True,
            "request_counts": {"total": 50, "completed": 50, "failed": 50},
        },
        "gemini",
    )
    counts = batch.request_counts
    assert (counts.succeeded, counts.failed_count, counts.pending, counts.progress) == (0, 50, 0, 1.0)


def test_unknown_provider_reads_openai_shaped() -> None:
    batch = Batch.from_wire(
        {"id": "b1", "status": "in_progress", "request_counts": {"total": 100, "completed": 40, "failed": 10}},
        "siliconflow",
    )
    counts = batch.request_counts
    assert not batch.traits.known and not batch.counts_at_end
    assert (counts.succeeded, counts.done, counts.pending) == (40, 50, 50)


def test_gemini_cancelled_batch_has_nothing_pending() -> None:
    """A cancelled Gemini batch keeps its last pendingRequestCount on the wire; what never
    ran was cancelled, not still pending."""
    batch = Batch.from_wire(
        {
            "id": "batches/g",
            "object": "batch",
            "status": "cancelled",
            "done": True,
            "request_counts": {"total": 1000, "completed": 400, "failed": 100, "succeeded": 300, "pending": 600},
        },
        "gemini",
    )
    counts = batch.request_counts
    assert (counts.pending, counts.canceled_count, counts.succeeded) == (0, 600, 300)
    assert counts.progress == 1.0


def test_the_whole_boards_summary_kept_as_it_changes_equals_summing_every_batch() -> None:
    """Board.summary() of the whole board comes from sums kept share by share; summing each
    batch (the filtered path) must give the same, through adds, changes, finishes and polls
    that carry only some batches."""
    clock = Clock()
    board = Board(clock)
    for step in range(6):
        clock.now += 60
        batches = [openai(f"b{i}", min(100 * step + i, 1000), failed=step * (i % 3)) for i in range(step, 8)]
        if step >= 3:
            batches.append(openai("done", 1000, failed=20, status="completed"))
        board.apply(batches[step % 2 :: 2] if step % 3 == 2 else batches)
        kept, summed = board.summary(), board.summary(iter([t.key for t in board.tracked()]))
        assert kept.batches == summed.batches and kept.live == summed.live
        assert kept.with_failures == summed.with_failures
        for name in ("totals", "change"):
            assert vars_of(getattr(kept, name)) == pytest.approx(vars_of(getattr(summed, name)))
        if summed.per_minute is None:
            assert kept.per_minute is None
        else:
            assert kept.per_minute is not None
            for a, b in zip(vars_of(kept.per_minute), vars_of(summed.per_minute)):
                assert a == pytest.approx(b)


def vars_of(totals: Totals) -> tuple[float, ...]:
    return (totals.pending, totals.succeeded, totals.failed, totals.canceled, totals.expired)


def test_a_settled_finished_batch_is_not_seen_again_a_live_one_is_while_it_moves() -> None:
    """At 10,000 batches of history most of a first page is finished batches whose counts
    have settled: redrawing or re-checking them at every poll was idle cost (issue 10 b)."""
    clock = Clock()
    board = Board(clock)
    done = openai("done", 1000, status="completed")  # the very object, as the client's parse cache gives it
    seen = []
    for i in range(6):
        seen.append(board.apply([done, openai("live", 10 + i)]).seen)
        clock.now += 2
    assert seen[0] == [("openai", "done"), ("openai", "live")]
    assert seen[-1] == [("openai", "live")]
    assert board.get(("openai", "done")).last_seen == clock.now - 2  # still sighted


def _looks(tracked) -> tuple:
    """Everything shown of a batch that its samples decide."""
    history = tracked.history
    return (
        tracked.rate_per_minute(),
        tracked.eta_seconds(),
        history.rates_per_second(),
        history.change_since_previous(),
        history.done_rates_per_minute(TREND_POLLS),
        tracked.share(),
    )


def test_a_live_batch_standing_still_stops_being_seen_once_nothing_of_it_can_move() -> None:
    """Issue 10 b: at idle every running batch was "seen" at every poll, so its row, its
    signals and its attention were worked out again at every poll to find them unchanged.
    Once its counts have stood still longer than the rate window and the sparklines look
    back, another equal sample moves nothing: it is sighted, not seen. It is seen again at
    the first poll that brings a change."""
    clock = Clock()
    board = Board(clock)
    key = ("openai", "live")
    board.apply([openai("live", 10)])
    board.apply([openai("live", 20)])  # moving: a rate, a sparkline
    live = openai("live", 30)
    seen_at = []
    for poll in range(100):
        clock.now += 2
        tracked = board.get(key)
        before = _looks(tracked) if poll else None
        if board.apply([live]).seen:
            seen_at.append(poll)
        elif before is not None:
            assert _looks(tracked) == before
    # At 2 s the rate window (300 s) reaches back past the bounded history (64 samples):
    # the batch is still once the whole history is the run of equal samples.
    assert seen_at == list(range(seen_at[-1] + 1))
    assert 60 <= seen_at[-1] < 70
    assert board.get(key).last_seen == clock.now  # sighted all the same
    assert board.get(key).rate_per_minute() == 0.0
    clock.now += 2
    assert board.apply([openai("live", 31)]).seen == [key]  # it moved: seen at once
    clock.now += 2
    assert board.apply([openai("live", 31)]).seen == [key]  # and while its rate decays

    # One that never moved (a frozen gateway, a batch queued for hours) is still as soon
    # as the row's sparkline holds nothing but its run.
    waiting = openai("waiting", 0)
    seen = []
    for _ in range(TREND_POLLS + 4):
        clock.now += 2
        seen.append(bool(board.apply([waiting]).seen))
    assert seen == [True] * (TREND_POLLS + 2) + [False] * 2


@pytest.mark.parametrize("seed", range(6))
def test_a_sample_said_to_move_nothing_moves_nothing(seed) -> None:
    """ProgressHistory.add says when a sample cannot have moved anything a row shows from the
    samples (rates, change since the last poll, the row's sparkline); the board then skips
    the batch. Random runs of moving and still counts, known
    and unknown, at short and long intervals (so that the rate window, not the bounded
    history, decides), and two answers for one instant."""
    import random

    from tui.monitor.history import ProgressHistory

    rng = random.Random(seed)
    history = ProgressHistory()
    at, done, known = 0.0, 0, True
    quiet = 0
    for _ in range(3000):
        roll = rng.random()
        if roll < 0.03:
            done += rng.randint(1, 50)
        elif roll < 0.04:
            known = not known
        step = rng.choice([0.0, 2.0, 2.0, 2.0, 5.0, 30.0, 120.0])
        at += step
        before = (
            history.rates_per_second(),
            history.change_since_previous(),
            history.done_rates_per_minute(TREND_POLLS),
            len(history._known()) >= 2,
        )
        moved = history.add(at, Totals(pending=1000 - done, succeeded=done), known=known)
        if not moved:
            quiet += 1
            after = (
                history.rates_per_second(),
                history.change_since_previous(),
                history.done_rates_per_minute(TREND_POLLS),
                len(history._known()) >= 2,
            )
            assert after == before
    assert quiet > 100  # the case under test did happen


@pytest.mark.parametrize(
    "history",
    [
        [],
        [None],
        [None, GatewayError("x", short="cannot connect")],
        [http_error(503)],
        [None, http_error(400, "unsupported_operation")],
    ],
)
def test_a_poll_starting_is_news_exactly_when_it_changes_the_providers_words(history) -> None:
    health = ProviderHealth("openai", interval=2.0)
    for outcome in history:
        if outcome is None:
            health.succeeded(100.0)
        else:
            health.failed(101.0, outcome)
    idle = health.describe(102.0)
    health.in_flight = True
    assert health.poll_start_shows == (health.describe(102.0) != idle)


def test_the_board_tells_which_batch_objects_it_added_or_replaced_since_a_mark() -> None:
    clock = Clock()
    board = Board(clock)
    start = board.journal_mark
    board.apply([openai("a", 10), openai("b", 0)])
    mark = board.journal_mark
    assert board.replaced_since(start) == [("openai", "a"), ("openai", "b")]
    clock.now += 60
    same = board.get(("openai", "b")).batch
    board.apply([openai("a", 10), same, openai("c", 0)])  # a: an equal copy, b: the very object
    assert board.replaced_since(mark) == [("openai", "c")]
    mark = board.journal_mark
    board.apply([openai("a", 20)])
    assert board.replaced_since(mark) == [("openai", "a")]
    assert board.replaced_since(board.journal_mark) == []


def test_a_cancel_on_its_way_that_a_poll_finds_finished_is_seen_even_if_nothing_else_moved() -> None:
    """The board clears "sending" when a poll brings the batch finished; the row must be
    looked at then, even when the batch is the one the board holds and has settled."""
    from tui.monitor import CancelState

    clock = Clock()
    board = Board(clock)
    key = ("openai", "done")
    for _ in range(3):
        board.apply([openai("done", 1000, status="completed")])
        clock.now += 2
    board.set_cancel_state(key, CancelState.SENDING)
    change = board.apply([openai("done", 1000, status="completed")])
    assert board.get(key).cancel_state is None
    assert key in change.seen
